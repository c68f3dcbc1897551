// What the `landmark` command and `landmark-bench` share around their
// subcommands: the OpenMP wait policy, the thread limit, --config and range
// checks on every command, and one way to report errors and exit.
#pragma once

#include <CLI/CLI.hpp>

namespace landmark::cli {

// libgomp's idle workers spin by default; re-executes once with
// OMP_WAIT_POLICY=passive unless the user chose one (see app_main.cc).
void PreferPassiveOpenMp(char** argv);

// Adds --config and range checks to every registered command, parses and
// runs the chosen one. `program` names the command in messages. Returns the
// exit status: 0, or 1 after printing "PROGRAM: error: ..." on stderr.
int RunApp(CLI::App& app, int argc, char** argv, const char* program);

}  // namespace landmark::cli
