// MaxDotsPacked (pooled logits: best of a query group against packed rows)
// against a double-precision reference, every target, group size (register
// groups of 4 and their remainders), row counts around the tile and panel
// widths, and head dims.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "src/kernels/kernels.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

TEST_CASE("MaxDotsPacked is the max over the group of exact dot products") {
  test::ForEachTarget([] {
    for (size_t d : {1, 5, 64, 128}) {
      for (size_t count : {1, 3, 4, 5, 8}) {
        for (size_t n : {1, 7, 16, 63, 64, 65, 130, 200}) {
          const size_t P = kMaxDotsPanel, panels = (n + P - 1) / P;
          const auto queries = test::RandomNormal(count * d, d * 100 + count);
          const auto rows = test::RandomNormal(n * d, n + d);
          std::vector<float> packed(panels * d * P, 0.0f);
          for (size_t j = 0; j < n; ++j) {
            for (size_t c = 0; c < d; ++c) packed[(j / P) * d * P + c * P + j % P] = rows[j * d + c];
          }
          std::vector<float> out(n + 1, 12345.0f);
          MaxDotsPacked(queries.data(), count, d, packed.data(), n, out.data());
          CAPTURE(d);
          CAPTURE(count);
          CAPTURE(n);
          for (size_t j = 0; j < n; ++j) {
            double best = -INFINITY, magnitude = 0;
            for (size_t g = 0; g < count; ++g) {
              double dot = 0, abs = 0;
              for (size_t c = 0; c < d; ++c) {
                dot += double(queries[g * d + c]) * rows[j * d + c];
                abs += std::fabs(double(queries[g * d + c]) * rows[j * d + c]);
              }
              best = std::max(best, dot);
              magnitude = std::max(magnitude, abs);
            }
            CHECK(std::fabs(double(out[j]) - best) <= 1e-6 * (magnitude + 1));
          }
          CHECK(out[n] == 12345.0f);
        }
      }
    }
  });
}

TEST_CASE("MaxDotsPacked with no queries or rows writes nothing") {
  std::vector<float> out(3, 1.0f), packed(64, 1.0f), queries(1, 1.0f);
  MaxDotsPacked(queries.data(), 0, 1, packed.data(), 3, out.data());
  MaxDotsPacked(queries.data(), 1, 1, packed.data(), 0, out.data());
  CHECK(out == std::vector<float>(3, 1.0f));
}

}  // namespace
}  // namespace landmark
