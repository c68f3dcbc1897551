// Linear, RMSNorm and the activations against double-precision references,
// on every Highway target (which also switches Linear between native bf16
// and widened f32 tiles on an AVX512_BF16 machine).

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>

#include "landmark/error.h"
#include "src/nn/nn.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

using test::ForEachTarget;
using test::RandomNormal;

// |got − expected| against Σ|x·w|, the scale a dot product's rounding has.
void CheckLinear(size_t M, size_t out, size_t in, DType dtype, bool accumulate, bool borrow = false) {
  CAPTURE(M);
  CAPTURE(out);
  CAPTURE(in);
  CAPTURE(Name(dtype));
  CAPTURE(accumulate);
  CAPTURE(borrow);
  const auto x = RandomNormal(M * in, 11 + M + in);
  const test::Stored w = test::Store(RandomNormal(out * in, 7 + out), dtype);
  const auto y0 = RandomNormal(M * out, 5);
  const Linear linear = borrow ? Linear::Borrow(w.data(), dtype, out, in) : Linear(w.data(), dtype, out, in);
  CHECK(linear.weight_bytes() == out * in * SizeOf(dtype));
  CHECK(linear.borrowed() == borrow);
  CHECK((linear.weights() == w.data()) == borrow);
  std::vector<float> y = y0;
  linear.Forward(x.data(), M, y.data(), accumulate);
  // x is rounded to bf16 on the native bf16 path: 2^-8 relative per term.
  const double tolerance = dtype == DType::kBF16 ? 8e-3 : 2e-6;
  for (size_t m = 0; m < M; ++m) {
    for (size_t o = 0; o < out; ++o) {
      double expected = accumulate ? y0[m * out + o] : 0.0, scale = 1.0;
      for (size_t k = 0; k < in; ++k) {
        const double term = double(x[m * in + k]) * w.values[o * in + k];
        expected += term;
        scale += std::fabs(term);
      }
      REQUIRE(std::fabs(y[m * out + o] - expected) <= tolerance * scale);
    }
  }
}

TEST_CASE("Linear matches x·Wᵀ for decode and batched rows, f32, bf16 and f16 weights, copied or borrowed") {
  ForEachTarget([] {
    for (DType dtype : test::kAllDTypes) {
      for (size_t M : {1, 4, 5, 37}) {
        for (auto [out, in] : {std::pair<size_t, size_t>{1, 1}, {63, 31}, {130, 256}, {600, 17}}) {
          CheckLinear(M, out, in, dtype, false);
        }
        CheckLinear(M, 96, 40, dtype, true);
        CheckLinear(M, 70, 33, dtype, M % 2 == 1, /*borrow=*/true);
      }
    }
  });
}

TEST_CASE("Linear: a borrowed matrix is read in place, also after a move") {
  std::vector<float> w = RandomNormal(8 * 4, 9);
  Linear a = Linear::Borrow(w.data(), DType::kF32, 8, 4);
  const Linear b = std::move(a);
  CHECK(b.weights() == w.data());
  const std::vector<float> x = {1, 0, 0, 0};
  std::vector<float> y(8);
  b.Forward(x.data(), 1, y.data());
  CHECK(y[3] == w[3 * 4]);
  w[3 * 4] = 123.0f;  // no copy: the change shows
  b.Forward(x.data(), 1, y.data());
  CHECK(y[3] == 123.0f);
}

TEST_CASE("Linear: the same results from several threads, and M = 0 is a no-op") {
  const auto w = RandomNormal(64 * 32, 3);
  const Linear linear(w.data(), DType::kF32, 64, 32);
  const auto x = RandomNormal(16 * 32, 4);
  std::vector<float> once(16 * 64);
  linear.Forward(x.data(), 16, once.data());
  std::vector<std::vector<float>> outs(4, std::vector<float>(16 * 64));
  std::vector<std::thread> threads;
  for (auto& out : outs) threads.emplace_back([&] { linear.Forward(x.data(), 16, out.data()); });
  for (auto& t : threads) t.join();
  for (const auto& out : outs) CHECK(out == once);
  float untouched = 42;
  linear.Forward(x.data(), 0, &untouched);
  CHECK(untouched == 42);
}

TEST_CASE("Linear rejects empty shapes and misaligned borrowed weights") {
  const std::vector<uint16_t> w(4);
  CHECK_THROWS_AS(Linear(w.data(), DType::kF32, 0, 2), Error);
  CHECK_THROWS_AS(Linear::Borrow(w.data(), DType::kF16, 2, 0), Error);
  CHECK_THROWS_AS(Linear::Borrow(reinterpret_cast<const uint8_t*>(w.data()) + 1, DType::kBF16, 1, 2), Error);
}

TEST_CASE("RmsNorm: whole rows and per-head groups") {
  ForEachTarget([] {
    for (const auto& shape : {std::pair<size_t, size_t>{1, 1}, {7, 7}, {64, 16}, {100, 25}, {256, 64}}) {
      const size_t d = shape.first, group = shape.second;  // (not a structured binding: CAPTURE's lambda)
      CAPTURE(d);
      CAPTURE(group);
      const size_t rows = 3;
      const auto x = RandomNormal(rows * d, d, 3.0f), w = RandomNormal(d, group);
      std::vector<float> y(rows * d), in_place = x;
      RmsNorm(x.data(), w.data(), rows, d, group, 1e-6f, y.data());
      RmsNorm(in_place.data(), w.data(), rows, d, group, 1e-6f, in_place.data());
      CHECK(in_place == y);
      for (size_t r = 0; r < rows; ++r) {
        for (size_t g = 0; g < d; g += group) {
          double squares = 0;
          for (size_t i = 0; i < group; ++i) squares += double(x[r * d + g + i]) * x[r * d + g + i];
          const double inv = 1.0 / std::sqrt(squares / double(group) + 1e-6);
          for (size_t i = 0; i < group; ++i) {
            const double expected = x[r * d + g + i] * inv * w[g + i];
            REQUIRE(std::fabs(y[r * d + g + i] - expected) <= 1e-5 * std::max(1.0, std::fabs(expected)));
          }
        }
      }
    }
  });
  const std::vector<float> x(6), w(6);
  std::vector<float> y(6);
  CHECK_THROWS_AS(RmsNorm(x.data(), w.data(), 1, 6, 4, 1e-6f, y.data()), Error);
}

double SiluRef(double x) { return x / (1.0 + std::exp(-x)); }
double GeluRef(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

TEST_CASE("Silu, Gelu, SiluGate and AddInPlace, including large magnitudes") {
  ForEachTarget([] {
    for (size_t n : {0, 1, 15, 16, 17, 100}) {
      CAPTURE(n);
      auto x = RandomNormal(n, n, 4.0f);
      if (n > 2) x[0] = 200.0f, x[1] = -200.0f, x[2] = -30.0f;
      const auto m = RandomNormal(n, n + 1);
      auto silu = x, gelu = x, sum = x;
      std::vector<float> gate(n);
      Silu(silu.data(), n);
      Gelu(gelu.data(), n);
      SiluGate(m.data(), x.data(), n, gate.data());
      AddInPlace(sum.data(), m.data(), n);
      for (size_t i = 0; i < n; ++i) {
        CAPTURE(x[i]);
        const double s = SiluRef(x[i]), g = GeluRef(x[i]);
        REQUIRE(std::fabs(silu[i] - s) <= 2e-6 * std::max(1.0, std::fabs(s)));
        REQUIRE(std::fabs(gelu[i] - g) <= 2e-6 * std::max(1.0, std::fabs(g)));
        REQUIRE(std::fabs(gate[i] - m[i] * s) <= 2e-6 * std::max(1.0, std::fabs(m[i] * s)));
        REQUIRE(sum[i] == x[i] + m[i]);
      }
    }
  });
}

}  // namespace
}  // namespace landmark
