// FlashPrefill mask: pooled logits, a per-row max-based dynamic threshold,
// vertical and slash patterns from the pooled logits' column and diagonal
// means (docs/design.md, "Sparse prefill"; the rules are in prefill.h).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "landmark/error.h"
#include "landmark/prefill.h"
#include "src/prefill/option_ranges.h"
#include "src/prefill/policy.h"
#include "src/prefill/pooled_logits.h"

namespace landmark {
namespace {

using Threshold = FlashPrefillOptions::Threshold;

// Rows are summed in a fixed number of chunks whose partial sums (f32 within
// a chunk, f64 across) are added in chunk order, so the means (and the top-k
// they feed) do not depend on how the threads were scheduled.
constexpr size_t kSumChunks = 64;

// Applies the rules to one kv head's pooled logits, setting the kept blocks
// in `bits` [nb][nb].
void ApplyRules(const prefill::PooledLogits& pooled, size_t head, const FlashPrefillOptions& o,
                uint8_t* bits) {
  const size_t nb = pooled.blocks();
  const size_t chunks = std::min(kSumChunks, nb);
  // Per chunk: column sums by j, then diagonal sums by nb - (i - j), so that
  // a row adds to both with ascending, contiguous indices.
  std::vector<float> partial(chunks * 2 * nb, 0.0f);
  pooled.ForEachRow(head, chunks, [&](size_t chunk, size_t i, const float* row) {
    uint8_t* kept = bits + i * nb;
    float max = row[0], min = row[0];
    for (size_t j = 1; j < i; ++j) {
      max = std::max(max, row[j]);
      min = std::min(min, row[j]);
    }
    if (o.threshold == Threshold::kDelta) {
      const float threshold = max - o.delta;
      for (size_t j = 0; j < i; ++j) kept[j] |= uint8_t(row[j] >= threshold);
    } else {
      const float threshold = o.alpha * max + (1 - o.alpha) * min;
      for (size_t j = 0; j < i; ++j) kept[j] |= uint8_t(row[j] > threshold);
    }
    // Block 0 is always kept: it joins neither the column nor the diagonal means.
    float* column_sum = partial.data() + chunk * 2 * nb;
    float* diagonal_sum = column_sum + nb + (nb - i);
    for (size_t j = 1; j < i; ++j) {
      column_sum[j] += row[j];
      diagonal_sum[j] += row[j];
    }
  });
  if (nb < 3) return;  // no block j >= 1 is seen by a later row
  std::vector<double> column_sum(nb, 0.0), diagonal_sum(nb, 0.0);  // diagonal: by offset
  for (size_t c = 0; c < chunks; ++c) {
    const float* sums = partial.data() + c * 2 * nb;
    for (size_t x = 1; x < nb; ++x) {
      column_sum[x] += sums[x];
      diagonal_sum[x] += sums[nb + nb - x];
    }
  }
  // Candidates 1..nb-2: column j is seen by rows j+1..nb-1, diagonal o holds
  // j = 1..nb-1-o; both have nb-1-x entries.
  const size_t candidates = nb - 2;
  std::vector<float> mean(candidates);
  const prefill::FlashPrefillTops tops = prefill::FlashPrefillTopCounts(o, nb);
  for (size_t x = 1; x <= candidates; ++x) mean[x - 1] = float(column_sum[x] / double(nb - 1 - x));
  for (uint32_t top : prefill::TopK(mean.data(), candidates, tops.vertical)) {
    const size_t j = top + 1;
    for (size_t i = j + 1; i < nb; ++i) bits[i * nb + j] = 1;
  }
  for (size_t x = 1; x <= candidates; ++x) mean[x - 1] = float(diagonal_sum[x] / double(nb - 1 - x));
  for (uint32_t top : prefill::TopK(mean.data(), candidates, tops.slash)) {
    const size_t offset = top + 1;
    for (size_t i = offset; i < nb; ++i) bits[i * nb + i - offset] = 1;
  }
}

}  // namespace

namespace prefill {

void CheckFlashPrefillOptions(const FlashPrefillOptions& o) {
  CheckRange(kDeltaRange, o.delta);
  CheckRange(kAlphaRange, o.alpha);
  CheckRange(kVerticalFractionRange, o.vertical_fraction);
}

FlashPrefillTops FlashPrefillTopCounts(const FlashPrefillOptions& o, size_t nb) {
  FlashPrefillTops tops;
  if (nb < 3) return tops;
  const size_t candidates = nb - 2;
  const size_t vertical = o.vertical_fraction > 0
      ? std::max<size_t>(1, size_t(std::llround(o.vertical_fraction * double(nb)))) : 0;
  tops.vertical = std::min(vertical, candidates);
  tops.slash = std::min(o.slash_count, candidates);
  return tops;
}

}  // namespace prefill

BlockMask FlashPrefillMask(const float* q, size_t q_heads, const KVSequence& kv, size_t block,
                           const FlashPrefillOptions& options) {
  prefill::CheckInputs(q, q_heads, kv, block, "flashprefill", true);
  prefill::CheckFlashPrefillOptions(options);
  BlockMask mask = prefill::FixedBlocksMask(kv.tokens, kv.heads, block);
  const size_t nb = mask.blocks;
  if (nb < 2) return mask;
  const prefill::PooledLogits pooled(q, q_heads, kv, block);
  for (size_t head = 0; head < kv.heads; ++head) {
    ApplyRules(pooled, head, options, mask.bits.data() + head * nb * nb);
  }
  return mask;
}

}  // namespace landmark
