// Element types of stored keys, values and landmarks. Queries and all
// accumulation are f32; storage may be f32, f16 (IEEE binary16) or bf16.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace landmark {

enum class DType : uint8_t { kF32 = 0, kF16 = 1, kBF16 = 2 };

// 16-bit storage types: plain bit containers, layout-compatible with
// hwy::float16_t / hwy::bfloat16_t.
struct f16 {
  uint16_t bits;
};
struct bf16 {
  uint16_t bits;
};

constexpr size_t SizeOf(DType t) { return t == DType::kF32 ? 4 : 2; }

// "f32" | "f16" | "bf16".
const char* Name(DType t);
// Parses a name accepted by Name() (also "float32", "float16", "bfloat16");
// throws landmark::Error naming `what` (e.g. the option) otherwise.
DType ParseDType(std::string_view name, std::string_view what = "dtype");

template <typename T>
constexpr DType DTypeOf();
template <>
constexpr DType DTypeOf<float>() { return DType::kF32; }
template <>
constexpr DType DTypeOf<f16>() { return DType::kF16; }
template <>
constexpr DType DTypeOf<bf16>() { return DType::kBF16; }

// Scalar conversions. f32 -> f16/bf16 round to nearest even; NaN stays NaN;
// f16 overflow gives +-inf.
float ToF32(f16 h);
float ToF32(bf16 b);
inline float ToF32(float f) { return f; }
f16 ToF16(float f);
bf16 ToBF16(float f);

template <typename T>
T FromF32(float f);
template <>
inline float FromF32<float>(float f) { return f; }
template <>
inline f16 FromF32<f16>(float f) { return ToF16(f); }
template <>
inline bf16 FromF32<bf16>(float f) { return ToBF16(f); }

// Reads element `i` of a `dtype` array as f32 (scalar, for references and tails).
float LoadAsF32(const void* data, DType dtype, size_t i);

}  // namespace landmark
