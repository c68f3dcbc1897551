// dtype conversion of whole arrays. f32 -> f16/bf16 rounds to nearest even on
// every target (Highway 1.0.3's DemoteTo truncates bf16, and f16 on EMU128),
// with the same bit recipes as the scalar ToF16/ToBF16.

#include <cstdint>
#include <cstring>
#include <type_traits>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/convert.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "src/kernels/load-inl.h"

HWY_BEFORE_NAMESPACE();
namespace landmark {
namespace HWY_NAMESPACE {

// Arithmetic runs on u32 lanes (wrap-around is intended); comparisons on i32
// lanes of values below 2^31.

// f32 bits -> bf16 bits (in the low half of each lane).
template <class DU>
HWY_INLINE hn::Vec<DU> BF16Bits(DU du, hn::Vec<DU> x) {
  const hn::RebindToSigned<DU> di;
  const auto magnitude = hn::And(x, hn::Set(du, 0x7fffffffu));
  const auto is_nan = hn::Gt(hn::BitCast(di, magnitude), hn::Set(di, 0x7f800000));
  const auto high = hn::ShiftRight<16>(x);
  const auto odd = hn::And(high, hn::Set(du, 1u));
  const auto rounded = hn::ShiftRight<16>(hn::Add(hn::Add(x, hn::Set(du, 0x7fffu)), odd));
  return hn::IfThenElse(hn::RebindMask(du, is_nan), hn::Or(high, hn::Set(du, 0x40u)), rounded);
}

// f32 bits -> f16 bits, after F. Giesen's float_to_half_fast3_rtne.
template <class DU>
HWY_INLINE hn::Vec<DU> F16Bits(DU du, hn::Vec<DU> x) {
  const hn::RebindToSigned<DU> di;
  const hn::RebindToFloat<DU> df;
  const auto sign = hn::And(x, hn::Set(du, 0x80000000u));
  const auto ax = hn::Xor(x, sign);
  const auto ax_signed = hn::BitCast(di, ax);  // < 2^31
  const auto inf_or_nan =
      hn::IfThenElse(hn::RebindMask(du, hn::Gt(ax_signed, hn::Set(di, 0x7f800000))),
                     hn::Set(du, 0x7e00u), hn::Set(du, 0x7c00u));
  // 0.5f has an ulp of 2^-24, the f16 subnormal step, so the FPU rounds.
  const auto denormal_magic = hn::Set(df, 0.5f);
  const auto subnormal = hn::Sub(hn::BitCast(du, hn::Add(hn::BitCast(df, ax), denormal_magic)),
                                 hn::BitCast(du, denormal_magic));
  const auto odd = hn::And(hn::ShiftRight<13>(ax), hn::Set(du, 1u));
  const auto normal =
      hn::ShiftRight<13>(hn::Add(hn::Add(ax, hn::Set(du, 0xc8000fffu)), odd));  // rebias
  auto out = hn::IfThenElse(hn::RebindMask(du, hn::Lt(ax_signed, hn::Set(di, 113 << 23))),
                            subnormal, normal);
  out = hn::IfThenElse(hn::RebindMask(du, hn::Lt(ax_signed, hn::Set(di, (127 + 16) << 23))), out,
                       inf_or_nan);
  return hn::Or(out, hn::ShiftRight<16>(sign));
}

template <typename T>
void FromF32T(const float* HWY_RESTRICT src, size_t n, T* HWY_RESTRICT dst) {
  const hn::ScalableTag<float> df;
  const hn::RebindToUnsigned<decltype(df)> du;
  const hn::Rebind<uint16_t, decltype(df)> du16;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto x = hn::BitCast(du, hn::LoadU(df, src + i));
    hn::Vec<decltype(du)> bits;
    if constexpr (std::is_same_v<T, hwy::float16_t>) {
      bits = F16Bits(du, x);
    } else {
      bits = BF16Bits(du, x);
    }
    // Every lane is < 2^16: the saturating i32 -> u16 demotion is exact.
    hn::StoreU(hn::DemoteTo(du16, hn::BitCast(hn::RebindToSigned<decltype(du)>(), bits)), du16,
               reinterpret_cast<uint16_t*>(dst + i));
  }
  for (; i < n; ++i) {
    if constexpr (std::is_same_v<T, hwy::float16_t>) {
      dst[i].bits = ToF16(src[i]).bits;
    } else {
      dst[i].bits = ToBF16(src[i]).bits;
    }
  }
}

void ConvertToF32(const void* src, DType src_type, size_t n, float* dst) {
  VisitStorage(src_type, [&](auto* type) {
    ConvertRowToF32(static_cast<decltype(type)>(src), n, dst);
  });
}

void ConvertFromF32(const float* src, size_t n, DType dst_type, void* dst) {
  switch (dst_type) {
    case DType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::kF16:
      return FromF32T(src, n, static_cast<hwy::float16_t*>(dst));
    case DType::kBF16:
      return FromF32T(src, n, static_cast<hwy::bfloat16_t*>(dst));
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace landmark
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace landmark {

HWY_EXPORT(ConvertToF32);
HWY_EXPORT(ConvertFromF32);

void ConvertToF32(const void* src, DType src_type, size_t n, float* dst) {
  HWY_DYNAMIC_DISPATCH(ConvertToF32)(src, src_type, n, dst);
}

void ConvertFromF32(const float* src, size_t n, DType dst_type, void* dst) {
  HWY_DYNAMIC_DISPATCH(ConvertFromF32)(src, n, dst_type, dst);
}

}  // namespace landmark
#endif  // HWY_ONCE
