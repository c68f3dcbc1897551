// Range checks for every numeric option of every command (option_checks.cc).
#pragma once

#include <CLI/CLI.hpp>

namespace landmark::cli {

// Call after every command is added: unsigned options refuse negatives,
// real ones NaN and infinities, sizes their bounds.
void AddOptionChecks(CLI::App& app);

}  // namespace landmark::cli
