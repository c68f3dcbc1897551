// Vector dtype conversion equals the scalar definition bit for bit, on every
// target (Highway 1.0.3's own DemoteTo truncates, so this is not a given).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "src/kernels/kernels.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

std::vector<float> Interesting() {
  std::vector<float> x = test::RandomNormal(1000, 3, 100.0f);
  const float specials[] = {0.0f, -0.0f, 1.0f, -1.0f, 65504.0f, 65519.0f, 65520.0f, 1e9f, -1e9f,
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::denorm_min(), 1e-8f, -3e-6f, 6.1e-5f,
                            std::ldexp(1.0f, -25), std::ldexp(1.5f, -25), 1.00048828125f,
                            1.001953125f, 3.0078125f};
  x.insert(x.end(), std::begin(specials), std::end(specials));
  for (uint32_t b = 0; b < 0x7c00; b += 97) {  // f16 midpoints: tie cases
    const float lo = ToF32(f16{uint16_t(b)}), hi = ToF32(f16{uint16_t(b + 1)});
    x.push_back((lo + hi) / 2);
  }
  return x;
}

TEST_CASE("ConvertFromF32 rounds like the scalar conversion, bit for bit") {
  const std::vector<float> x = Interesting();
  test::ForEachTarget([&] {
    for (size_t n : {size_t(0), size_t(1), size_t(7), size_t(17), x.size()}) {
      for (size_t offset : {0, 1}) {
        if (offset + n > x.size()) continue;
        std::vector<f16> h(n + 1, f16{0xabcd});
        std::vector<bf16> b(n + 1, bf16{0xabcd});
        ConvertFromF32(x.data() + offset, n, DType::kF16, h.data());
        ConvertFromF32(x.data() + offset, n, DType::kBF16, b.data());
        for (size_t i = 0; i < n; ++i) {
          CAPTURE(x[offset + i]);
          REQUIRE(h[i].bits == ToF16(x[offset + i]).bits);
          REQUIRE(b[i].bits == ToBF16(x[offset + i]).bits);
        }
        CHECK(h[n].bits == 0xabcd);
        CHECK(b[n].bits == 0xabcd);
      }
    }
  });
}

TEST_CASE("ConvertToF32 widens exactly") {
  test::ForEachTarget([] {
    for (DType dtype : test::kAllDTypes) {
      for (size_t n : {0, 1, 5, 16, 33, 100}) {
        const auto stored = test::Store(test::RandomNormal(n, n), dtype, 1);
        std::vector<float> out(n);
        ConvertToF32(stored.data(), dtype, n, out.data());
        for (size_t i = 0; i < n; ++i) REQUIRE(double(out[i]) == stored.values[i]);
      }
    }
  });
}

}  // namespace
}  // namespace landmark
