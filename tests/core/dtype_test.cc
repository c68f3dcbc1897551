// Scalar dtype conversions, checked exhaustively over all 16-bit patterns
// against an independent decoding and the round-to-nearest-even definition.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "landmark/dtype.h"
#include "landmark/error.h"

namespace landmark {
namespace {

// IEEE binary16 decoded with ldexp (no bit tricks shared with the library).
double DecodeF16(uint16_t bits) {
  const int sign = bits >> 15, exponent = (bits >> 10) & 31, mantissa = bits & 1023;
  double magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(double(mantissa), -24);
  } else if (exponent == 31) {
    magnitude = mantissa ? std::numeric_limits<double>::quiet_NaN() : INFINITY;
  } else {
    magnitude = std::ldexp(double(1024 + mantissa), exponent - 25);
  }
  return sign ? -magnitude : magnitude;
}

double DecodeBF16(uint16_t bits) {
  uint32_t u = uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// The finite neighbours of `bits` (same sign, one ulp up/down) bracket x;
// the conversion must pick the nearer, ties to the even significand.
template <class Decode>
void CheckNearestEven(float x, uint16_t bits, Decode decode, uint16_t max_finite) {
  const double got = decode(bits);
  if (std::isinf(got)) {  // overflow: x must be at least halfway past the largest finite
    const double largest = decode(max_finite);
    const double next = 2 * largest - decode(uint16_t(max_finite - 1));
    CHECK(std::fabs(double(x)) >= (largest + next) / 2);
    return;
  }
  const double error = std::fabs(got - double(x));
  for (int step : {-1, 1}) {
    const uint16_t magnitude = bits & 0x7fff;
    if ((step < 0 && magnitude == 0) || (step > 0 && magnitude >= max_finite)) continue;
    const double neighbour = decode(uint16_t(bits + step));
    const double other = std::fabs(neighbour - double(x));
    CAPTURE(x);
    CAPTURE(bits);
    CHECK(error <= other);
    if (error == other) CHECK((bits & 1) == 0);  // tie: even significand
  }
}

TEST_CASE("f16: every bit pattern decodes exactly and round-trips") {
  for (uint32_t b = 0; b < 65536; ++b) {
    const float f = ToF32(f16{uint16_t(b)});
    const double expected = DecodeF16(uint16_t(b));
    if (std::isnan(expected)) {
      CHECK(std::isnan(f));
      CHECK(std::isnan(ToF32(ToF16(f))));
      continue;
    }
    REQUIRE(double(f) == expected);
    REQUIRE(ToF16(f).bits == b);
  }
}

TEST_CASE("f16: rounding is to nearest, ties to even, overflow to inf") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> exponent(-27.0f, 17.0f);
  for (int i = 0; i < 200000; ++i) {
    const float x = std::exp2(exponent(rng)) * (i % 2 ? -1.0f : 1.0f);
    CheckNearestEven(x, ToF16(x).bits, DecodeF16, 0x7bff);
  }
  // Exact midpoints between neighbours (normal and subnormal) tie to even.
  for (uint32_t b = 0; b < 0x7bff; b += 37) {
    const double mid = (DecodeF16(uint16_t(b)) + DecodeF16(uint16_t(b + 1))) / 2;
    const float x = float(mid);
    if (double(x) != mid) continue;  // not representable in f32
    CHECK((ToF16(x).bits & 1) == 0);
  }
  CHECK(ToF16(65504.0f).bits == 0x7bff);
  CHECK(ToF16(65519.0f).bits == 0x7bff);
  CHECK(ToF16(65520.0f).bits == 0x7c00);  // halfway to 65536 rounds to even = inf
  CHECK(ToF16(1e10f).bits == 0x7c00);
  CHECK(ToF16(-INFINITY).bits == 0xfc00);
  CHECK(ToF16(std::ldexp(1.0f, -25)).bits == 0);       // half the smallest subnormal: tie to 0
  CHECK(ToF16(std::ldexp(1.5f, -25)).bits == 1);
  CHECK(ToF16(-0.0f).bits == 0x8000);
}

TEST_CASE("bf16: every bit pattern decodes exactly and round-trips; rounding") {
  for (uint32_t b = 0; b < 65536; ++b) {
    const float f = ToF32(bf16{uint16_t(b)});
    const double expected = DecodeBF16(uint16_t(b));
    if (std::isnan(expected)) {
      CHECK(std::isnan(ToF32(ToBF16(f))));
      continue;
    }
    REQUIRE(double(f) == expected);
    REQUIRE(ToBF16(f).bits == b);
  }
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> exponent(-130.0f, 127.0f);
  for (int i = 0; i < 200000; ++i) {
    const float x = std::exp2(exponent(rng)) * (i % 2 ? -1.0f : 1.0f);
    CheckNearestEven(x, ToBF16(x).bits, DecodeBF16, 0x7f7f);
  }
  CHECK(ToBF16(std::numeric_limits<float>::max()).bits == 0x7f80);  // rounds up to inf
}

TEST_CASE("dtype names parse and bad names are rejected with a message") {
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) CHECK(ParseDType(Name(t)) == t);
  CHECK(ParseDType("bfloat16") == DType::kBF16);
  CHECK(SizeOf(DType::kF32) == 4);
  CHECK(SizeOf(DType::kBF16) == 2);
  try {
    ParseDType("int8", "--dtype");
    FAIL("no exception");
  } catch (const Error& e) {
    const std::string message = e.what();
    CHECK(message.find("--dtype") != std::string::npos);
    CHECK(message.find("int8") != std::string::npos);
  }
}

}  // namespace
}  // namespace landmark
