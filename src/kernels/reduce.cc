// Column reductions over rows of keys: the mean and min/max landmarks of a
// chunk (and any mean pooling over a block of rows).

#include <algorithm>
#include <limits>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/reduce.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "src/kernels/load-inl.h"

HWY_BEFORE_NAMESPACE();
namespace landmark {
namespace HWY_NAMESPACE {

// Rows are summed one after the other into `out` (L1-resident): one
// contiguous stream through memory. Walking each column strip down all rows
// instead reads every row once per strip, at ~half the bandwidth for rows of
// a few KiB (block-pooled queries of all heads). Each column still adds its
// rows in order, so the result is the same.
template <typename T>
void ColumnMeanT(const T* HWY_RESTRICT rows, size_t n, size_t d, size_t row_stride,
                 float* HWY_RESTRICT out) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const float inv_n = n ? 1.0f / float(n) : 0.0f;
  std::fill(out, out + d, 0.0f);
  for (size_t i = 0; i < n; ++i) {
    const T* row = rows + i * row_stride;
    size_t k = 0;
    for (; k + N <= d; k += N) hn::StoreU(hn::Add(hn::LoadU(df, out + k), LoadF32(df, row + k)), df, out + k);
    for (; k < d; ++k) out[k] += ScalarF32(row + k);
  }
  size_t k = 0;
  for (; k + N <= d; k += N) hn::StoreU(hn::Mul(hn::LoadU(df, out + k), hn::Set(df, inv_n)), df, out + k);
  for (; k < d; ++k) out[k] *= inv_n;
}

template <typename T>
void ColumnMinMaxT(const T* HWY_RESTRICT rows, size_t n, size_t d, size_t row_stride,
                   float* HWY_RESTRICT out) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  constexpr float kInf = std::numeric_limits<float>::infinity();
  size_t k = 0;
  for (; k + N <= d; k += N) {
    auto lo = hn::Set(df, kInf), hi = hn::Set(df, -kInf);
    for (size_t i = 0; i < n; ++i) {
      const auto x = LoadF32(df, rows + i * row_stride + k);
      lo = hn::Min(lo, x);
      hi = hn::Max(hi, x);
    }
    hn::StoreU(lo, df, out + k);
    hn::StoreU(hi, df, out + d + k);
  }
  for (; k < d; ++k) {
    float lo = kInf, hi = -kInf;
    for (size_t i = 0; i < n; ++i) {
      const float x = ScalarF32(rows + i * row_stride + k);
      lo = x < lo ? x : lo;
      hi = x > hi ? x : hi;
    }
    out[k] = lo;
    out[d + k] = hi;
  }
}

void ColumnMean(const void* rows, DType dtype, size_t n, size_t d, size_t row_stride, float* out) {
  VisitStorage(dtype, [&](auto* type) {
    ColumnMeanT(static_cast<decltype(type)>(rows), n, d, row_stride, out);
  });
}

void ColumnMinMax(const void* rows, DType dtype, size_t n, size_t d, size_t row_stride, float* out) {
  VisitStorage(dtype, [&](auto* type) {
    ColumnMinMaxT(static_cast<decltype(type)>(rows), n, d, row_stride, out);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace landmark
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace landmark {

HWY_EXPORT(ColumnMean);
HWY_EXPORT(ColumnMinMax);

void ColumnMean(const void* rows, DType dtype, size_t n, size_t d, size_t row_stride, float* out) {
  HWY_DYNAMIC_DISPATCH(ColumnMean)(rows, dtype, n, d, row_stride, out);
}

void ColumnMinMax(const void* rows, DType dtype, size_t n, size_t d, size_t row_stride, float* out) {
  HWY_DYNAMIC_DISPATCH(ColumnMinMax)(rows, dtype, n, d, row_stride, out);
}

}  // namespace landmark
#endif  // HWY_ONCE
