// Mean L2 norm of a block of rows: DMA's value-norm key-block importance.

#include <cmath>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/row_norm.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "src/kernels/kernels.h"
#include "src/kernels/load-inl.h"

HWY_BEFORE_NAMESPACE();
namespace landmark {
namespace HWY_NAMESPACE {

template <typename T>
float MeanRowNormT(const T* HWY_RESTRICT rows, size_t n, size_t d, size_t row_stride) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  double total = 0;
  for (size_t i = 0; i < n; ++i) {
    const T* row = rows + i * row_stride;
    auto sum0 = hn::Zero(df), sum1 = hn::Zero(df);
    size_t c = 0;
    for (; c + 2 * N <= d; c += 2 * N) {
      const auto a = LoadF32(df, row + c), b = LoadF32(df, row + c + N);
      sum0 = hn::MulAdd(a, a, sum0);
      sum1 = hn::MulAdd(b, b, sum1);
    }
    for (; c + N <= d; c += N) {
      const auto a = LoadF32(df, row + c);
      sum0 = hn::MulAdd(a, a, sum0);
    }
    float squares = hn::GetLane(hn::SumOfLanes(df, hn::Add(sum0, sum1)));
    for (; c < d; ++c) squares += ScalarF32(row + c) * ScalarF32(row + c);
    total += std::sqrt(double(squares));
  }
  return n == 0 ? 0.0f : float(total / double(n));
}

float MeanRowNorm(const void* rows, DType rows_type, size_t n, size_t d, size_t row_stride) {
  return VisitStorage(rows_type, [&](auto* type) {
    return MeanRowNormT(static_cast<decltype(type)>(rows), n, d, row_stride);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace landmark
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace landmark {

HWY_EXPORT(MeanRowNorm);

float MeanRowNorm(const void* rows, DType rows_type, size_t n, size_t d, size_t row_stride) {
  return HWY_DYNAMIC_DISPATCH(MeanRowNorm)(rows, rows_type, n, d, row_stride);
}

}  // namespace landmark
#endif  // HWY_ONCE
