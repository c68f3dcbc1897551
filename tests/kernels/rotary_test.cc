// RotateHalf (RoPE, rotate_half layout) against a double reference: every
// Highway target, every storage dtype, odd half-dims, misaligned rows, in place.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "src/kernels/kernels.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

TEST_CASE("RotateHalf matches the double reference on every target and dtype") {
  test::ForEachTarget([] {
    for (DType dtype : test::kAllDTypes) {
      for (size_t d : {size_t(2), size_t(6), size_t(16), size_t(34), size_t(128)}) {
        CAPTURE(d);
        const size_t half = d / 2, rows = 5, positions = 7, stride = d + 3;
        std::vector<float> cos(positions * half), sin(positions * half);
        for (size_t p = 0; p < positions; ++p) {
          for (size_t i = 0; i < half; ++i) {
            const double angle = double(p) * std::pow(10000.0, -double(2 * i) / double(d));
            cos[p * half + i] = float(std::cos(angle));
            sin[p * half + i] = float(std::sin(angle));
          }
        }
        const std::vector<float> x = test::RandomNormal(rows * stride, d + 1);
        std::vector<uint8_t> stored(rows * stride * SizeOf(dtype));
        ConvertFromF32(x.data(), x.size(), dtype, stored.data());
        const std::vector<int64_t> pos = {0, 6, 3, 3, 1};
        std::vector<float> y(rows * d);
        RotateHalf(stored.data(), dtype, rows, d, stride, cos.data(), sin.data(), pos.data(), y.data(), d);
        double err = 0;
        for (size_t r = 0; r < rows; ++r) {
          for (size_t i = 0; i < half; ++i) {
            const double x1 = LoadAsF32(stored.data(), dtype, r * stride + i);
            const double x2 = LoadAsF32(stored.data(), dtype, r * stride + half + i);
            const double c = cos[pos[r] * half + i], s = sin[pos[r] * half + i];
            err = std::max(err, std::abs(y[r * d + i] - (x1 * c - x2 * s)));
            err = std::max(err, std::abs(y[r * d + half + i] - (x2 * c + x1 * s)));
          }
        }
        CHECK(err < 1e-5);
        if (dtype == DType::kF32) {  // in place gives the same rows
          std::vector<float> z = x;
          RotateHalf(z.data(), DType::kF32, rows, d, stride, cos.data(), sin.data(), pos.data(), z.data(), stride);
          for (size_t r = 0; r < rows; ++r) {
            for (size_t i = 0; i < d; ++i) CHECK(z[r * stride + i] == y[r * d + i]);
          }
        }
      }
    }
  });
}

}  // namespace
}  // namespace landmark
