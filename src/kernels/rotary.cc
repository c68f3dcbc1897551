// Rotary position embeddings (RoPE) in Hugging Face's rotate_half layout:
// dimension i pairs with i + d/2. Reads rows in their storage dtype and
// writes rotated f32 rows, so keys kept before RoPE in the chunk store are
// widened and given positions in one pass.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/rotary.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cstdint>
#include <string>

#include "hwy/highway.h"
#include "src/kernels/kernels.h"
#include "src/kernels/load-inl.h"

HWY_BEFORE_NAMESPACE();
namespace landmark {
namespace HWY_NAMESPACE {

template <typename T>
void RotateHalfT(const T* HWY_RESTRICT src, size_t rows, size_t half, size_t src_stride, const float* cos,
                 const float* sin, const int64_t* positions, float* dst, size_t dst_stride) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  for (size_t r = 0; r < rows; ++r) {
    const T* x = src + r * src_stride;
    float* y = dst + r * dst_stride;
    const float* c = cos + size_t(positions[r]) * half;
    const float* s = sin + size_t(positions[r]) * half;
    size_t i = 0;
    for (; i + N <= half; i += N) {
      const auto x1 = LoadF32(df, x + i), x2 = LoadF32(df, x + half + i);
      const auto vc = hn::LoadU(df, c + i), vs = hn::LoadU(df, s + i);
      hn::StoreU(hn::NegMulAdd(x2, vs, hn::Mul(x1, vc)), df, y + i);  // x1·cos − x2·sin
      hn::StoreU(hn::MulAdd(x1, vs, hn::Mul(x2, vc)), df, y + half + i);  // x2·cos + x1·sin
    }
    for (; i < half; ++i) {
      const float x1 = ScalarF32(x + i), x2 = ScalarF32(x + half + i);  // before y (src may be dst)
      y[i] = x1 * c[i] - x2 * s[i];
      y[half + i] = x2 * c[i] + x1 * s[i];
    }
  }
}

void RotateHalf(const void* src, DType src_type, size_t rows, size_t d, size_t src_stride, const float* cos,
                const float* sin, const int64_t* positions, float* dst, size_t dst_stride) {
  VisitStorage(src_type, [&](auto* type) {
    RotateHalfT(static_cast<decltype(type)>(src), rows, d / 2, src_stride, cos, sin, positions, dst, dst_stride);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace landmark
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace landmark {

HWY_EXPORT(RotateHalf);

void RotateHalf(const void* src, DType src_type, size_t rows, size_t d, size_t src_stride, const float* cos,
                const float* sin, const int64_t* positions, float* dst, size_t dst_stride) {
  LANDMARK_CHECK_ARG(d % 2 == 0, "RotateHalf: head dim " + std::to_string(d) + " is odd");
  HWY_DYNAMIC_DISPATCH(RotateHalf)(src, src_type, rows, d, src_stride, cos, sin, positions, dst, dst_stride);
}

}  // namespace landmark
#endif
