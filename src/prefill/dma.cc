// Dynamic Mask Sparse Attention mask: content-aware top-k key blocks per
// query block (value norm, pooled q·k or learned value importance), OR'ed
// with position-aware patterns (local window, strided, dilated). The rules
// are in prefill.h.

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "landmark/error.h"
#include "src/kernels/kernels.h"
#include "landmark/prefill.h"
#include "src/prefill/option_ranges.h"
#include "src/kernels/kv_sequence.h"
#include "src/prefill/policy.h"
#include "src/prefill/pooled_logits.h"

namespace landmark {
namespace {

using Importance = DmaOptions::Importance;

constexpr size_t kRowChunks = 64;  // parallel row ranges for pooled q·k importance

void CheckOptions(const DmaOptions& o, const KVSequence& kv) {
  prefill::CheckRange(prefill::kSparsityRange, o.sparsity);
  if (o.importance == Importance::kLearned) {
    LANDMARK_CHECK_ARG(o.weights.size() == kv.heads * kv.d,
                       "prefill.dma.importance learned: the weights must hold kv heads × d = " +
                           std::to_string(kv.heads) + " × " + std::to_string(kv.d) + " floats (got " +
                           std::to_string(o.weights.size()) + ")");
  }
}

// k_i = min(i, max(1, ceil((1 - sparsity)·(i + 1)))): content-selected
// blocks of query block i >= 1. The 1e-9 keeps products such as
// 0.1 · 30 = 3.0000000000000004 from rounding up.
size_t KeptPerRow(double sparsity, size_t i) {
  const double wanted = std::ceil((1.0 - sparsity) * double(i + 1) - 1e-9);
  return std::min(i, std::max<size_t>(1, size_t(wanted)));
}

// Importance of every key block of one kv head that does not depend on the
// query block: mean ‖v‖ or mean softplus(v·w).
std::vector<float> BlockImportance(const KVSequence& kv, size_t head, size_t block,
                                   const DmaOptions& o) {
  const size_t L = kv.tokens, nb = L / block + (L % block != 0), d = kv.d;
  std::vector<float> importance(nb);
  tbb::parallel_for(tbb::blocked_range<size_t>(0, nb), [&](const tbb::blocked_range<size_t>& range) {
    std::vector<float> dots(block);
    for (size_t j = range.begin(); j != range.end(); ++j) {
      const size_t first = j * block, n = std::min(block, L - first);
      const void* v = kv_sequence::At(kv.v, kv.dtype, first * kv.token_stride + head * kv.head_stride);
      if (o.importance == Importance::kValueNorm) {
        importance[j] = MeanRowNorm(v, kv.dtype, n, d, kv.token_stride);
      } else {
        BatchedDot(o.weights.data() + head * d, v, kv.dtype, n, d, kv.token_stride, dots.data());
        double sum = 0;  // softplus(x) = log(1 + e^x), overflow-free
        for (size_t t = 0; t < n; ++t) sum += std::max(dots[t], 0.0f) + std::log1p(std::exp(-std::fabs(dots[t])));
        importance[j] = float(sum / double(n));
      }
    }
  });
  return importance;
}

// Window, strided and dilated blocks of row i.
void KeepPositional(const DmaOptions& o, size_t i, uint8_t* kept) {
  for (size_t j = i - std::min(i, o.window); j < i; ++j) kept[j] = 1;
  if (o.stride > 0) {
    for (size_t j = i % o.stride; j < i; j += o.stride) kept[j] = 1;
  }
  if (o.dilation > 0) {
    for (size_t k = 1; k <= o.dilated_count && k * o.dilation <= i; ++k) kept[i - k * o.dilation] = 1;
  }
}

}  // namespace

BlockMask DmaMask(const float* q, size_t q_heads, const KVSequence& kv, size_t block,
                  const DmaOptions& options) {
  const bool pooled_qk = options.importance == Importance::kPooledQK;
  prefill::CheckInputs(q, q_heads, kv, block, "dma", pooled_qk);
  CheckOptions(options, kv);
  BlockMask mask = prefill::FixedBlocksMask(kv.tokens, kv.heads, block);
  const size_t nb = mask.blocks;
  if (nb < 2) return mask;
  std::unique_ptr<prefill::PooledLogits> pooled;
  if (pooled_qk) pooled = std::make_unique<prefill::PooledLogits>(q, q_heads, kv, block);
  for (size_t head = 0; head < kv.heads; ++head) {
    uint8_t* bits = mask.bits.data() + head * nb * nb;
    if (pooled_qk) {  // the ranking depends on the query block
      pooled->ForEachRow(head, std::min(kRowChunks, nb), [&](size_t, size_t i, const float* row) {
        uint8_t* kept = bits + i * nb;
        for (uint32_t j : prefill::TopK(row, i, KeptPerRow(options.sparsity, i))) kept[j] = 1;
        KeepPositional(options, i, kept);
      });
      continue;
    }
    // Query-independent importance: one ranking, of which row i takes the
    // best k_i blocks it can see.
    const std::vector<float> importance = BlockImportance(kv, head, block, options);
    const std::vector<uint32_t> order = prefill::TopK(importance.data(), nb, nb);
    tbb::parallel_for(tbb::blocked_range<size_t>(1, nb, 16), [&](const tbb::blocked_range<size_t>& range) {
      for (size_t i = range.begin(); i != range.end(); ++i) {
        uint8_t* kept = bits + i * nb;
        const size_t k = KeptPerRow(options.sparsity, i);
        for (size_t r = 0, taken = 0; r < nb && taken < k; ++r) {
          if (order[r] < i) {
            kept[order[r]] = 1;
            ++taken;
          }
        }
        KeepPositional(options, i, kept);
      }
    });
  }
  return mask;
}

}  // namespace landmark
