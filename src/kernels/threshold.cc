// Indices of the values that reach a threshold: the filter between a
// sampled top-k threshold and the exact pick (src/attention/top_k.h). Nearly
// every vector has none, so the loop is a compare and a branch per vector;
// the few that do write the indices of their set mask bits.

#include <cstring>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/threshold.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "src/kernels/kernels.h"

HWY_BEFORE_NAMESPACE();
namespace landmark {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

size_t IndicesAtLeast(const float* HWY_RESTRICT x, size_t n, float threshold, uint32_t* HWY_RESTRICT out) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const auto t = hn::Set(df, threshold);
  size_t count = 0, i = 0;
  for (; i + N <= n; i += N) {
    const auto reach = hn::Ge(hn::LoadU(df, x + i), t);  // false for NaN
    if (hn::AllFalse(df, reach)) continue;
    // The lanes that reach it, from their mask bits (Highway 1.0.3's AVX2
    // CompressStore copies a 256-byte table per call: far slower here).
    uint8_t bytes[8] = {};
    hn::StoreMaskBits(df, reach, bytes);
    uint64_t bits;
    std::memcpy(&bits, bytes, sizeof bits);
    for (; bits != 0; bits &= bits - 1) out[count++] = uint32_t(i + size_t(__builtin_ctzll(bits)));
  }
  for (; i < n; ++i) {
    if (x[i] >= threshold) out[count++] = uint32_t(i);
  }
  return count;
}

}  // namespace HWY_NAMESPACE
}  // namespace landmark
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace landmark {

HWY_EXPORT(IndicesAtLeast);

size_t IndicesAtLeast(const float* x, size_t n, float threshold, uint32_t* out) {
  return HWY_DYNAMIC_DISPATCH(IndicesAtLeast)(x, n, threshold, out);
}

}  // namespace landmark
#endif  // HWY_ONCE
