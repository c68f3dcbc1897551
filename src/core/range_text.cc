#include "src/core/range_text.h"

#include <cmath>
#include <cstdio>

#include "landmark/error.h"

namespace landmark {

std::string RangeNumber(double x) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), x == std::floor(x) && std::fabs(x) < 1e20 ? "%.0f" : "%g", x);
  return buffer;
}

std::string RangeText(double min, double max) {
  if (max >= kNoMax) return min <= -kNoMax ? "" : ">= " + RangeNumber(min);
  return "in [" + RangeNumber(min) + ", " + RangeNumber(max) + "]";
}

void ThrowOutOfRange(std::string_view got, double min, double max, std::string_view key) {
  LANDMARK_THROW((key.empty() ? "" : std::string(key) + ": ") + "must be " + RangeText(min, max) + " (got " +
                 std::string(got) + ")");
}

}  // namespace landmark
