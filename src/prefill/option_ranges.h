// The ranges of the prefill options the mask policies check, written once:
// the policies check them (CheckRange), the option table
// (src/config/option_tables.cc) reads them for the preset reader, the CLI,
// the C API and configs/README.md.
#pragma once

#include "src/core/range_text.h"

namespace landmark::prefill {

struct OptionRange {
  const char* key;  // the preset key, also the name errors give
  double min, max;  // max = kNoMax (src/core/range_text.h): no upper bound
};

inline constexpr OptionRange kDeltaRange{"prefill.flashprefill.delta", 0, kNoMax};
inline constexpr OptionRange kAlphaRange{"prefill.flashprefill.alpha", 0, 1};
inline constexpr OptionRange kVerticalFractionRange{"prefill.flashprefill.vertical_fraction", 0, 1};
inline constexpr OptionRange kSparsityRange{"prefill.dma.sparsity", 0, 1};

// Throws landmark::Error "<key>: must be in [min, max] (got x)" (">= min"
// without a bound) for a value outside the range, NaN and infinities included.
void CheckRange(const OptionRange& range, double value);

}  // namespace landmark::prefill
