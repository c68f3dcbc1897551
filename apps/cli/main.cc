// landmark: command-line entry point. `landmark bench ...` runs the
// benchmark program beside this one (landmark-bench, built from perf/), so
// the command people use links no benchmark code.
#if LANDMARK_WITH_MIMALLOC
#include <mimalloc.h>
#endif

#include <unistd.h>

#include <cstdio>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include "landmark/version.h"
#include "apps/cli/app_main.h"
#include "apps/cli/config_option.h"
#include "apps/cli/commands.h"
#include "src/kernels/kernels.h"

// Replaces this process with landmark-bench from the same folder, passing
// the arguments after "bench". Returns 1 after an error message if it cannot.
static int RunBench(char** argv) {
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  const auto bench = (error ? std::filesystem::path(argv[0]) : self).parent_path() / "landmark-bench";
  argv[1] = argv[0];  // landmark-bench sees the arguments after "bench" as its own
  ::execv(bench.c_str(), argv + 1);
  std::fprintf(stderr, "landmark: error: `landmark bench` runs %s, which could not be started (%s); build the "
               "target landmark_bench or install it beside landmark\n", bench.c_str(), std::strerror(errno));
  return 1;
}

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "bench") == 0) return RunBench(argv);
  landmark::cli::PreferPassiveOpenMp(argv);
  CLI::App app{"landmark: ultra-long-context sparse attention on CPUs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] {
#if LANDMARK_WITH_MIMALLOC
    const std::string allocator = "mimalloc " + std::to_string(mi_version());
#else
    const std::string allocator = "system malloc";
#endif
    return std::string("landmark ") + LANDMARK_VERSION_STRING + " (kernels: " +
           landmark::KernelTarget() + ", allocator: " + allocator + ")";
  });
  landmark::cli::AddStoreCommands(app);
  landmark::cli::AddQueryCommand(app);
  landmark::cli::AddDemoCommand(app);
  landmark::cli::AddPrefillCommand(app);
  landmark::cli::AddGmuCommands(app);
  landmark::cli::AddModelCommands(app);
  landmark::cli::AddLlmCommands(app);
  landmark::cli::AddConfigCommand(app);  // `landmark config [--doc]`: the preset keys
  // Listed in --help; never parsed here (main() hands "bench ..." over first).
  app.add_subcommand("bench", "Measure kernels against this machine's limits (runs landmark-bench)");
  return landmark::cli::RunApp(app, argc, argv, "landmark");
}
