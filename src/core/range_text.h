// How a numeric range and a value outside it are printed, one way for the
// option readers, the CLI's help and the library's own checks.
#pragma once

#include <limits>
#include <string>
#include <string_view>

namespace landmark {

inline constexpr double kNoMax = std::numeric_limits<double>::max();  // no upper bound

// A number as the range messages print it ("4294967295", "0.5", "nan").
std::string RangeNumber(double x);

// "in [min, max]", ">= min" (max = kNoMax), "" (no bound either side).
std::string RangeText(double min, double max);

// Throws landmark::Error "<key>: must be <RangeText> (got <got>)" (no key:
// "must be ...", for the caller to say whose value it was).
[[noreturn]] void ThrowOutOfRange(std::string_view got, double min, double max, std::string_view key = {});

}  // namespace landmark
