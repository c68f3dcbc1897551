#include "src/prefill/pooled_logits.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>

#include "landmark/kernels.h"
#include "src/kernels/kv_sequence.h"

namespace landmark::prefill {

PooledLogits::PooledLogits(const float* q, size_t q_heads, const KVSequence& kv, size_t block)
    : blocks_((kv.tokens + block - 1) / block), q_heads_(q_heads), kv_heads_(kv.heads), d_(kv.d) {
  const size_t L = kv.tokens, d = d_, nb = blocks_;
  queries_.resize(nb * q_heads * d);
  keys_.resize(kv_heads_ * nb * d);
  const float scale = 1.0f / std::sqrt(float(d));
  tbb::parallel_for(tbb::blocked_range<size_t>(0, nb), [&](const tbb::blocked_range<size_t>& range) {
    for (size_t i = range.begin(); i != range.end(); ++i) {
      const size_t first = i * block, n = std::min(block, L - first);
      // A token's heads are contiguous: pool [q_heads * d] rows in one pass.
      float* pooled_q = queries_.data() + i * q_heads * d;
      ColumnMean(q + first * q_heads * d, DType::kF32, n, q_heads * d, q_heads * d, pooled_q);
      for (size_t c = 0; c < q_heads * d; ++c) pooled_q[c] *= scale;
      for (size_t h = 0; h < kv_heads_; ++h) {
        ColumnMean(kv_sequence::At(kv.k, kv.dtype, first * kv.token_stride + h * kv.head_stride),
                 kv.dtype, n, d, kv.token_stride, keys_.data() + (h * nb + i) * d);
      }
    }
  });
}

void PooledLogits::Compute(size_t head, float* scores) const {
  const size_t nb = blocks_, d = d_, group = q_heads_ / kv_heads_;
  const float* keys = keys_.data() + head * nb * d;
  // Row i costs i dot products per query head: small grains balance the triangle.
  tbb::parallel_for(tbb::blocked_range<size_t>(1, nb, 16), [&](const tbb::blocked_range<size_t>& range) {
    std::vector<float> dots(nb);
    for (size_t i = range.begin(); i != range.end(); ++i) {
      float* row = scores + i * nb;
      for (size_t g = 0; g < group; ++g) {
        const float* query = queries_.data() + (i * q_heads_ + head * group + g) * d;
        BatchedDot(query, keys, DType::kF32, i, d, d, g == 0 ? row : dots.data());
        if (g > 0) {
          for (size_t j = 0; j < i; ++j) row[j] = std::max(row[j], dots[j]);
        }
      }
    }
  });
}

}  // namespace landmark::prefill
