// Dot and BatchedDot against a double-precision sum, every target, dtype,
// length and misalignment (Highway's dot_test sweep).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "src/kernels/kernels.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

using test::ForEachTarget;

const size_t kLengths[] = {0, 1, 3, 7, 15, 16, 17, 31, 33, 64, 80, 100, 128, 256, 257, 1000};
const size_t kMisalign[] = {0, 1, 3};

// |got − exact| ≤ c · eps_f32 · Σ|a_i b_i|: the bound for f32 accumulation.
void CheckDot(float got, const double* a, const double* b, size_t n) {
  double exact = 0, magnitude = 0;
  for (size_t i = 0; i < n; ++i) {
    exact += a[i] * b[i];
    magnitude += std::fabs(a[i] * b[i]);
  }
  CAPTURE(n);
  CHECK(std::fabs(double(got) - exact) <= 4.0 * 1.2e-7 * (magnitude + 1e-30) * std::sqrt(double(n) + 1));
}

TEST_CASE("Dot matches the exact sum") {
  ForEachTarget([] {
    for (DType dtype : test::kAllDTypes) {
      for (size_t n : kLengths) {
        for (size_t misalign : kMisalign) {
          const std::string dtype_name = Name(dtype);
          CAPTURE(dtype_name);
          CAPTURE(misalign);
          const auto a = test::Store(test::RandomNormal(n, 1 + n), DType::kF32, misalign);
          const auto b = test::Store(test::RandomNormal(n, 1000 + n), dtype, misalign * 2 + 1);
          const float got = Dot(static_cast<const float*>(a.data()), b.data(), dtype, n);
          CheckDot(got, a.values.data(), b.values.data(), n);
        }
      }
    }
  });
}

TEST_CASE("BatchedDot scores every row, with strides and row counts off the unroll") {
  ForEachTarget([] {
    for (DType dtype : test::kAllDTypes) {
      for (size_t d : {1, 7, 64, 80, 128, 130}) {
        for (size_t rows : {0, 1, 3, 4, 5, 9, 64}) {
          const size_t stride = d + (d % 3);  // padded rows too
          const auto q = test::Store(test::RandomNormal(d, d), DType::kF32, 1);
          const auto table = test::Store(test::RandomNormal(rows * stride, rows + 7 * d), dtype, 3);
          std::vector<float> out(rows + 1, -123.0f);
          BatchedDot(static_cast<const float*>(q.data()), table.data(), dtype, rows, d, stride, out.data());
          const std::string dtype_name = Name(dtype);
          CAPTURE(dtype_name);
          CAPTURE(rows);
          for (size_t r = 0; r < rows; ++r) CheckDot(out[r], q.values.data(), table.values.data() + r * stride, d);
          CHECK(out[rows] == -123.0f);  // nothing written past the end
        }
      }
    }
  });
}

TEST_CASE("BatchedDotHeads scores each head's slice, bit for bit BatchedDot's, for any count of pairs") {
  ForEachTarget([] {
    for (DType dtype : test::kAllDTypes) {
      for (size_t heads : {1, 2, 3, 5, 8}) {
        for (size_t d : {1, 7, 64, 130}) {
          for (size_t rows : {0, 1, 2, 3, 7}) {
            const size_t head_stride = d + 2, row_stride = heads * head_stride + 1, out_stride = rows + 3;
            const auto q = test::Store(test::RandomNormal(heads * d, heads + d), DType::kF32, 1);
            const auto table = test::Store(test::RandomNormal(rows * row_stride + 1, rows + 5 * d), dtype, 3);
            std::vector<float> out(heads * out_stride, -123.0f), one(rows + 1);
            const float* qf = static_cast<const float*>(q.data());
            BatchedDotHeads(qf, table.data(), dtype, rows, heads, d, head_stride, row_stride, out.data(), out_stride);
            const std::string dtype_name = Name(dtype);
            CAPTURE(dtype_name);
            CAPTURE(heads);
            CAPTURE(d);
            CAPTURE(rows);
            const size_t bytes = SizeOf(dtype);
            for (size_t h = 0; h < heads; ++h) {
              const void* slice = static_cast<const char*>(table.data()) + h * head_stride * bytes;
              BatchedDot(qf + h * d, slice, dtype, rows, d, row_stride, one.data());
              for (size_t r = 0; r < rows; ++r) {
                CheckDot(out[h * out_stride + r], q.values.data() + h * d,
                         table.values.data() + r * row_stride + h * head_stride, d);
                CHECK(out[h * out_stride + r] == one[r]);  // the same bits
              }
              for (size_t r = rows; r < out_stride; ++r) CHECK(out[h * out_stride + r] == -123.0f);
            }
          }
        }
      }
    }
  });
}

TEST_CASE("BatchedQuestBound is the Quest upper bound Σ max(r·min, r·max)") {
  ForEachTarget([] {
    for (DType dtype : test::kAllDTypes) {
      for (size_t R : {1, 7, 16, 64, 100}) {
        for (size_t rows : {0, 1, 5, 33}) {
          const size_t stride = 2 * R + 3;
          const auto r = test::RandomNormal(R, R + rows);
          const auto table = test::Store(test::RandomNormal(rows * stride, rows * 3 + R), dtype, 1);
          std::vector<float> out(rows);
          BatchedQuestBound(r.data(), table.data(), dtype, rows, R, stride, out.data());
          for (size_t i = 0; i < rows; ++i) {
            double expected = 0, magnitude = 0;
            for (size_t j = 0; j < R; ++j) {
              const double lo = table.values[i * stride + j], hi = table.values[i * stride + R + j];
              expected += std::max(r[j] * lo, r[j] * hi);
              magnitude += std::fabs(r[j] * lo) + std::fabs(r[j] * hi);
            }
            CHECK(std::fabs(out[i] - expected) <= 1e-6 * (magnitude + 1));
          }
        }
      }
    }
  });
}

}  // namespace
}  // namespace landmark
