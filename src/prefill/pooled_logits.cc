#include "src/prefill/pooled_logits.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>

#include "src/kernels/kernels.h"
#include "src/kernels/kv_sequence.h"

namespace landmark::prefill {
namespace {

constexpr size_t kMaxPooledDim = 256;  // pooled key columns per ColumnMean call (stack buffer)

}  // namespace

PooledLogits::PooledLogits(const float* q, size_t q_heads, const KVSequence& kv, size_t block)
    : blocks_(kv.tokens / block + (kv.tokens % block != 0)), q_heads_(q_heads), kv_heads_(kv.heads), d_(kv.d) {
  const size_t L = kv.tokens, d = d_, nb = blocks_;
  // Not zeroed: every element is written once by the (parallel) pooling below.
  queries_.reset(new float[nb * q_heads * d]);
  panels_ = (nb + kMaxDotsPanel - 1) / kMaxDotsPanel;
  keys_.assign(kv_heads_ * panels_ * d * kMaxDotsPanel, 0.0f);
  const float scale = 1.0f / std::sqrt(float(d));
  tbb::parallel_for(tbb::blocked_range<size_t>(0, nb), [&](const tbb::blocked_range<size_t>& range) {
    for (size_t i = range.begin(); i != range.end(); ++i) {
      const size_t first = i * block, n = std::min(block, L - first);
      // A token's heads are contiguous: pool [q_heads * d] rows in one pass.
      float* pooled_q = queries_.get() + i * q_heads * d;
      ColumnMean(q + first * q_heads * d, DType::kF32, n, q_heads * d, q_heads * d, pooled_q);
      for (size_t c = 0; c < q_heads * d; ++c) pooled_q[c] *= scale;
      float pooled_k[kMaxPooledDim];
      for (size_t h = 0; h < kv_heads_; ++h) {
        // Packed in transposed panels for MaxDotsPacked.
        for (size_t c0 = 0; c0 < d; c0 += kMaxPooledDim) {
          const size_t width = std::min(kMaxPooledDim, d - c0);
          ColumnMean(kv_sequence::At(kv.k, kv.dtype, first * kv.token_stride + h * kv.head_stride + c0),
                     kv.dtype, n, width, kv.token_stride, pooled_k);
          for (size_t c = 0; c < width; ++c) keys_[((h * panels_ + i / kMaxDotsPanel) * d + c0 + c) * kMaxDotsPanel + i % kMaxDotsPanel] = pooled_k[c];
        }
      }
    }
  });
}

void PooledLogits::ForEachRow(size_t head, size_t chunks, const RowFn& fn) const {
  const size_t nb = blocks_, d = d_, group = q_heads_ / kv_heads_;
  const float* panels = keys_.data() + head * panels_ * d * kMaxDotsPanel;
  if (nb < 2 || chunks == 0) return;
  tbb::parallel_for(tbb::blocked_range<size_t>(0, chunks, 1), [&](const tbb::blocked_range<size_t>& range) {
    std::vector<float> row(nb);
    for (size_t chunk = range.begin(); chunk != range.end(); ++chunk) {
      for (size_t i = std::max<size_t>(1, chunk * nb / chunks); i < (chunk + 1) * nb / chunks; ++i) {
        MaxDotsPacked(queries_.get() + (i * q_heads_ + head * group) * d, group, d, panels, i, row.data());
        fn(chunk, i, row.data());
      }
    }
  });
}

}  // namespace landmark::prefill
