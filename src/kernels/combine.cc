// Combiners of partial attention results: the joint softmax (LSE merge) and
// the HSA weighted sum. Both are out[r] = Σ_i w[i][r] · outs[i][r]; the LSE
// merge first turns log-sum-exps into weights.

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/combine.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace landmark {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Streams `outs` in memory order (part by part) and accumulates into `out`,
// which stays in L1: reading one row across all parts would jump a page per
// part and defeat the prefetchers.
void WeightedSum(const float* HWY_RESTRICT outs, const float* HWY_RESTRICT weights, size_t parts,
                 size_t rows, size_t d, float* HWY_RESTRICT out) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  std::fill(out, out + rows * d, 0.0f);
  for (size_t i = 0; i < parts; ++i) {
    for (size_t r = 0; r < rows; ++r) {
      const float w = weights[i * rows + r];
      const float* part_row = outs + (i * rows + r) * d;
      float* out_row = out + r * d;
      const auto wv = hn::Set(df, w);
      size_t c = 0;
      for (; c + N <= d; c += N) {
        hn::StoreU(hn::MulAdd(wv, hn::LoadU(df, part_row + c), hn::LoadU(df, out_row + c)), df, out_row + c);
      }
      for (; c < d; ++c) out_row[c] += w * part_row[c];
    }
  }
}

void MergeByLse(const float* outs, const float* lses, size_t parts, size_t rows, size_t d,
                float* out, float* lse_out) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  std::vector<float> weights(parts * rows);
  for (size_t r = 0; r < rows; ++r) {
    float max = kNegInf;
    for (size_t i = 0; i < parts; ++i) max = std::max(max, lses[i * rows + r]);
    float total = 0.0f;
    for (size_t i = 0; i < parts; ++i) {
      // exp(-inf - max) = 0; a row where every part is -inf keeps weights 0.
      const float w = max == kNegInf ? 0.0f : std::exp(lses[i * rows + r] - max);
      weights[i * rows + r] = w;
      total += w;
    }
    for (size_t i = 0; i < parts && total > 0.0f; ++i) weights[i * rows + r] /= total;
    if (lse_out) lse_out[r] = total > 0.0f ? max + std::log(total) : kNegInf;
  }
  WeightedSum(outs, weights.data(), parts, rows, d, out);
}

}  // namespace HWY_NAMESPACE
}  // namespace landmark
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace landmark {

HWY_EXPORT(MergeByLse);
HWY_EXPORT(WeightedSum);

void MergeByLse(const float* outs, const float* lses, size_t parts, size_t rows, size_t d,
                float* out, float* lse_out) {
  HWY_DYNAMIC_DISPATCH(MergeByLse)(outs, lses, parts, rows, d, out, lse_out);
}

void WeightedSum(const float* outs, const float* weights, size_t parts, size_t rows, size_t d,
                 float* out) {
  HWY_DYNAMIC_DISPATCH(WeightedSum)(outs, weights, parts, rows, d, out);
}

}  // namespace landmark
#endif  // HWY_ONCE
