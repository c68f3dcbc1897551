// IndicesAtLeast against a scalar filter: every target, lengths around the
// vector widths, misaligned starts, thresholds at, between and beyond the
// values, NaN, ±inf and -0.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "src/kernels/kernels.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

std::vector<uint32_t> Expected(const float* x, size_t n, float threshold) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isnan(x[i]) && double(x[i]) >= double(threshold)) out.push_back(uint32_t(i));
  }
  return out;
}

TEST_CASE("IndicesAtLeast keeps exactly the values that reach the threshold, in order") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  test::ForEachTarget([&] {
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (size_t n : {0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 100, 1000, 4099}) {
      for (size_t offset : {0, 1, 3}) {
        std::vector<float> x(n + offset);
        for (float& v : x) v = u(rng);
        // Specials in some of the arrays.
        if (n > 8) x[offset + 1] = nan, x[offset + 2] = inf, x[offset + 3] = -inf, x[offset + 4] = -0.0f, x[offset + 5] = 0.0f;
        const float* data = x.data() + offset;
        for (float threshold : {-inf, -0.5f, 0.0f, -0.0f, 0.25f, 0.999f, 1.0f, inf, nan}) {
          CAPTURE(n);
          CAPTURE(offset);
          CAPTURE(threshold);
          // Room for n only: a write past it would show under ASan.
          std::vector<uint32_t> out(n);
          const size_t count = IndicesAtLeast(data, n, threshold, out.data());
          out.resize(count);
          CHECK(out == Expected(data, n, threshold));
        }
      }
    }
  });
}

TEST_CASE("IndicesAtLeast on sparse hits: few values in long runs below") {
  test::ForEachTarget([] {
    const size_t n = 16384;
    std::vector<float> x(n, -1.0f);
    for (size_t i : {0, 5, 63, 64, 4095, 8191, 8192, 16383}) x[i] = float(i);
    std::vector<uint32_t> out(n);
    const size_t count = IndicesAtLeast(x.data(), n, 0.0f, out.data());
    out.resize(count);
    CHECK(out == std::vector<uint32_t>{0, 5, 63, 64, 4095, 8191, 8192, 16383});
  });
}

}  // namespace
}  // namespace landmark
