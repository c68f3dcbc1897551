// Reductions over blocks of rows (ColumnMean: pooled queries/keys and mean
// landmarks; MeanRowNorm: value-norm importance) against double-precision
// sums, every target, dtype, length, stride and misalignment.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "src/kernels/kernels.h"
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

TEST_CASE("ColumnMean matches the exact column means, rows added in order") {
  test::ForEachTarget([] {
    for (DType dtype : test::kAllDTypes) {
      for (size_t d : {1, 7, 16, 33, 128, 512, 515}) {
        for (size_t rows : {0, 1, 5, 64}) {
          const size_t stride = d + 5;
          const auto x = test::Store(test::RandomNormal(rows * stride + 1, 3 * d + rows), dtype, d % 2);
          std::vector<float> out(d + 1, -7.0f);
          ColumnMean(x.data(), dtype, rows, d, stride, out.data());
          const std::string dtype_name = Name(dtype);
          CAPTURE(dtype_name);
          CAPTURE(d);
          CAPTURE(rows);
          for (size_t c = 0; c < d; ++c) {
            double sum = 0, magnitude = 0;
            for (size_t r = 0; r < rows; ++r) {
              sum += x.values[r * stride + c];
              magnitude += std::fabs(x.values[r * stride + c]);
            }
            const double expected = rows ? sum / double(rows) : 0.0;
            CHECK(std::fabs(double(out[c]) - expected) <= 2e-7 * (magnitude + 1));
          }
          CHECK(out[d] == -7.0f);  // nothing written past d
        }
      }
    }
  });
}

}  // namespace
}  // namespace landmark
