#include "landmark/dtype.h"

#include <cstdint>
#include <string>

#include "landmark/error.h"

namespace landmark {
namespace {

uint32_t BitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float FloatOf(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

float ToF32(f16 h) {
  const uint32_t sign = uint32_t(h.bits & 0x8000) << 16;
  const uint32_t exponent = (h.bits >> 10) & 0x1f;
  const uint32_t mantissa = h.bits & 0x3ff;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    const float magnitude = float(mantissa) * (1.0f / 16777216.0f);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return FloatOf(sign | 0x7f800000 | (mantissa << 13));  // inf, NaN
  return FloatOf(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

float ToF32(bf16 b) { return FloatOf(uint32_t(b.bits) << 16); }

// Round to nearest even, after F. Giesen's float_to_half_fast3_rtne.
f16 ToF16(float f) {
  uint32_t x = BitsOf(f);
  const uint32_t sign = x & 0x80000000u;
  x ^= sign;
  uint32_t out;
  if (x >= (127u + 16u) << 23) {  // |f| >= 65536, inf or NaN
    out = x > 0x7f800000u ? 0x7e00u : 0x7c00u;
  } else if (x < 113u << 23) {  // below the smallest f16 normal: subnormal or 0
    // 0.5f has an ulp of 2^-24, the f16 subnormal step, so the FPU rounds.
    const float denormal_magic = 0.5f;
    out = BitsOf(FloatOf(x) + denormal_magic) - BitsOf(denormal_magic);
  } else {
    const uint32_t mantissa_odd = (x >> 13) & 1;
    x += (uint32_t(15 - 127) << 23) + 0xfff + mantissa_odd;
    out = x >> 13;
  }
  return f16{uint16_t(out | (sign >> 16))};
}

bf16 ToBF16(float f) {
  const uint32_t x = BitsOf(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return bf16{uint16_t((x >> 16) | 0x40)};  // quiet NaN
  return bf16{uint16_t((x + 0x7fffu + ((x >> 16) & 1)) >> 16)};
}

float LoadAsF32(const void* data, DType dtype, size_t i) {
  switch (dtype) {
    case DType::kF32: return static_cast<const float*>(data)[i];
    case DType::kF16: return ToF32(static_cast<const f16*>(data)[i]);
    case DType::kBF16: return ToF32(static_cast<const bf16*>(data)[i]);
  }
  return 0.0f;
}

}  // namespace landmark
