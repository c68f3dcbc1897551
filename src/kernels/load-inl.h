// Per-target helpers shared by the kernels: read f32 / f16 / bf16 storage as
// f32 vectors, visit the storage type of a DType, and turn run-time counts
// into the compile-time ones register-blocked kernels need. Include after
// highway.h inside a HWY_TARGET_INCLUDE'd file (re-included per target).

#if defined(LANDMARK_KERNELS_LOAD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LANDMARK_KERNELS_LOAD_INL_H_
#undef LANDMARK_KERNELS_LOAD_INL_H_
#else
#define LANDMARK_KERNELS_LOAD_INL_H_
#endif

#include <cstdint>
#include <type_traits>
#include <utility>

#include "hwy/highway.h"
#include "landmark/dtype.h"
#include "landmark/error.h"

HWY_BEFORE_NAMESPACE();
namespace landmark {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <class DF>
HWY_INLINE hn::Vec<DF> LoadF32(DF df, const float* HWY_RESTRICT p) {
  return hn::LoadU(df, p);
}
template <class DF>
HWY_INLINE hn::Vec<DF> LoadF32(DF df, const hwy::float16_t* HWY_RESTRICT p) {
  const hn::Rebind<hwy::float16_t, DF> dh;
  return hn::PromoteTo(df, hn::LoadU(dh, p));
}
template <class DF>
HWY_INLINE hn::Vec<DF> LoadF32(DF df, const hwy::bfloat16_t* HWY_RESTRICT p) {
  const hn::Rebind<hwy::bfloat16_t, DF> dh;
  return hn::PromoteTo(df, hn::LoadU(dh, p));
}

HWY_INLINE float ScalarF32(const float* p) { return *p; }
HWY_INLINE float ScalarF32(const hwy::float16_t* p) { return ToF32(f16{p->bits}); }
HWY_INLINE float ScalarF32(const hwy::bfloat16_t* p) { return ToF32(bf16{p->bits}); }

// Calls fn(static_cast<const T*>(nullptr)) with T the Highway storage type of
// `dtype`, so one template kernel serves every dtype.
template <class Fn>
HWY_INLINE decltype(auto) VisitStorage(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::kF16: return fn(static_cast<const hwy::float16_t*>(nullptr));
    case DType::kBF16: return fn(static_cast<const hwy::bfloat16_t*>(nullptr));
    case DType::kF32: break;
  }
  return fn(static_cast<const float*>(nullptr));
}

// Calls fn(std::integral_constant<size_t, n>()) for 1 <= n <= kMax: turns a
// run-time row count into the compile-time one a register-blocked kernel needs.
template <size_t kMax, class Fn>
HWY_INLINE void WithCount(size_t n, const Fn& fn) {
  LANDMARK_ASSERT(n >= 1 && n <= kMax);
  [&]<size_t... I>(std::index_sequence<I...>) {
    ((n == I + 1 ? (fn(std::integral_constant<size_t, I + 1>()), 0) : 0), ...);
  }(std::make_index_sequence<kMax>());
}

// Prefetches the cache lines of `elements` values starting at `row`
// (locality 3: into L1; 2: into L2). Never faults, so rows past the end of
// the caller's data are harmless.
template <int kLocality = 3, typename T>
HWY_INLINE void PrefetchRow(const T* row, size_t elements) {
  const char* p = reinterpret_cast<const char*>(row);
  for (size_t offset = 0; offset < elements * sizeof(T); offset += 64) {
    __builtin_prefetch(p + offset, 0, kLocality);
  }
}

// Converts n elements to f32 (vector body, scalar tail).
template <typename T>
HWY_INLINE void ConvertRowToF32(const T* HWY_RESTRICT src, size_t n, float* HWY_RESTRICT dst) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
#if HWY_TARGET != HWY_SCALAR
  if constexpr (!std::is_same_v<T, float>) {  // full-width loads: one per 2 output vectors
    const hn::Repartition<uint16_t, decltype(df)> du16;
    const hn::Half<decltype(du16)> dh16;
    const hn::Rebind<T, decltype(df)> dt;
    for (; i + 2 * N <= n; i += 2 * N) {
      const auto bits = hn::LoadU(du16, reinterpret_cast<const uint16_t*>(src + i));
      hn::StoreU(hn::PromoteTo(df, hn::BitCast(dt, hn::LowerHalf(dh16, bits))), df, dst + i);
      hn::StoreU(hn::PromoteTo(df, hn::BitCast(dt, hn::UpperHalf(dh16, bits))), df, dst + i + N);
    }
  }
#endif
  for (; i + N <= n; i += N) hn::StoreU(LoadF32(df, src + i), df, dst + i);
  for (; i < n; ++i) dst[i] = ScalarF32(src + i);
}

}  // namespace HWY_NAMESPACE
}  // namespace landmark
HWY_AFTER_NAMESPACE();

#endif  // LANDMARK_KERNELS_LOAD_INL_H_
