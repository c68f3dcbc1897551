// MeanRowNorm against a double-precision sum, every target, dtype, length,
// stride and misalignment.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "landmark/kernels.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

TEST_CASE("MeanRowNorm matches the exact mean of row norms") {
  test::ForEachTarget([] {
    for (DType dtype : test::kAllDTypes) {
      for (size_t d : {1, 7, 16, 33, 64, 128, 130}) {
        for (size_t rows : {0, 1, 3, 64}) {
          const size_t stride = d + 3;
          const auto x = test::Store(test::RandomNormal(rows * stride + 1, d + rows), dtype, 1 + d % 3);
          double expected = 0;
          for (size_t r = 0; r < rows; ++r) {
            double squares = 0;
            for (size_t c = 0; c < d; ++c) squares += x.values[r * stride + c] * x.values[r * stride + c];
            expected += std::sqrt(squares);
          }
          expected = rows ? expected / double(rows) : 0.0;
          const std::string dtype_name = Name(dtype);
          CAPTURE(dtype_name);
          CAPTURE(d);
          CAPTURE(rows);
          const float got = MeanRowNorm(x.data(), dtype, rows, d, stride);
          CHECK(std::fabs(double(got) - expected) <= 1e-5 * (expected + 1));
        }
      }
    }
  });
}

}  // namespace
}  // namespace landmark
