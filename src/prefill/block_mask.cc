// BlockMask accounting, the dense policy and the helpers shared by the others.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>

#include "landmark/error.h"
#include "src/core/range_text.h"
#include "landmark/prefill.h"
#include "src/kernels/kv_sequence.h"
#include "src/prefill/option_ranges.h"
#include "src/prefill/policy.h"

namespace landmark {

size_t BlockMask::SelectedBlocks() const {
  return size_t(std::count_if(bits.begin(), bits.end(), [](uint8_t b) { return b != 0; }));
}

double BlockMask::Density() const {
  const double causal = double(heads) * double(blocks) * double(blocks + 1) / 2;
  return causal > 0 ? double(SelectedBlocks()) / causal : 0.0;
}

double BlockMask::AttendedPairs() const {
  double pairs = 0;
  for (size_t h = 0; h < heads; ++h) {
    for (size_t i = 0; i < blocks; ++i) {
      const double rows = double(std::min(block, tokens - i * block));
      size_t off_diagonal = 0;
      for (size_t j = 0; j < i; ++j) off_diagonal += selected(h, i, j);
      pairs += rows * double(off_diagonal * block) + rows * (rows + 1) / 2;
    }
  }
  return pairs;
}

BlockMask DenseMask(size_t tokens, size_t kv_heads, size_t block) {
  LANDMARK_CHECK_ARG(block > 0, "dense: block size must be > 0");
  BlockMask mask = prefill::FixedBlocksMask(tokens, kv_heads, block);
  for (size_t h = 0; h < kv_heads; ++h) {
    for (size_t i = 0; i < mask.blocks; ++i) {
      uint8_t* row = mask.bits.data() + (h * mask.blocks + i) * mask.blocks;
      std::fill(row, row + i + 1, uint8_t{1});
    }
  }
  return mask;
}

namespace prefill {

void CheckInputs(const float* q, size_t q_heads, const KVSequence& kv, size_t block,
                 const char* policy, bool needs_queries) {
  kv_sequence::Check(kv, q_heads, policy);
  LANDMARK_CHECK_ARG(block > 0, std::string(policy) + ": block size must be > 0");
  LANDMARK_CHECK_ARG(!needs_queries || kv.tokens == 0 || q != nullptr,
                     std::string(policy) + ": queries are null");
}

BlockMask FixedBlocksMask(size_t tokens, size_t kv_heads, size_t block) {
  BlockMask mask;
  mask.heads = kv_heads;
  mask.block = block;
  mask.tokens = tokens;
  mask.blocks = tokens / block + (tokens % block != 0);  // ⌈tokens/block⌉ without overflow
  const size_t nb = mask.blocks;
  mask.bits.assign(kv_heads * nb * nb, 0);
  for (size_t h = 0; h < kv_heads; ++h) {
    for (size_t i = 0; i < nb; ++i) {
      uint8_t* row = mask.bits.data() + (h * nb + i) * nb;
      row[0] = row[i] = 1;
    }
  }
  return mask;
}

std::vector<uint32_t> TopK(const float* scores, size_t n, size_t k) {
  LANDMARK_ASSERT(k <= n);
  std::vector<uint32_t> index(n);
  std::iota(index.begin(), index.end(), 0u);
  auto key = [&](uint32_t i) { return std::isnan(scores[i]) ? -INFINITY : scores[i]; };
  auto better = [&](uint32_t a, uint32_t b) {
    const float ka = key(a), kb = key(b);
    return ka > kb || (ka == kb && a < b);
  };
  std::partial_sort(index.begin(), index.begin() + ptrdiff_t(k), index.end(), better);
  index.resize(k);
  return index;
}

void CheckRange(const OptionRange& range, double value) {
  if (!(std::isfinite(value) && value >= range.min && value <= range.max)) {
    ThrowOutOfRange(RangeNumber(value), range.min, range.max, range.key);
  }
}

}  // namespace prefill
}  // namespace landmark
