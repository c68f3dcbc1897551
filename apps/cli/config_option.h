// `--config FILE` on every command: a preset (configs/*.toml) fills the
// options the command line leaves out.
#pragma once

#include <CLI/CLI.hpp>

namespace landmark::cli {

// Adds --config to every leaf command of `app` (call after all commands are
// registered). Each preset key fills the option of the same meaning
// (retrieval.top_k -> --top-k, ...: the fields of src/config/fields.h) unless the option was given; keys a
// command has no option for are ignored by it, unknown keys are errors.
// Commands that define --config themselves (gmu) keep theirs.
void AddConfigOptions(CLI::App& app);

// `landmark config [--doc]`: every preset key with its flag and default
// (--doc: the Markdown reference of configs/README.md).
void AddConfigCommand(CLI::App& app);

}  // namespace landmark::cli
