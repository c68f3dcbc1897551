// landmark: command-line entry point.
#include <tbb/global_control.h>
#if LANDMARK_WITH_MIMALLOC
#include <mimalloc.h>
#endif

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>

#include "landmark/error.h"
#include "landmark/kernels.h"
#include "landmark/version.h"
#include "src/cli/commands.h"
#include "src/cli/config_option.h"
#include "src/cli/option_checks.h"

namespace landmark::cli {

void RunWithThreads(size_t threads, const std::function<void()>& command) {
  if (threads == 0) return command();
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  command();
}

}  // namespace landmark::cli

// oneDNN runs on OpenMP, everything else on TBB. libgomp's idle workers
// spin by default and, on a 2-core machine, took 40-60% of the CPU from the
// TBB tasks of a decode step (5× slower steps). The wait policy is read only
// when libgomp loads, so the CLI re-executes itself once with it set to
// passive unless the user chose one. Embedders: set OMP_WAIT_POLICY=passive.
static void PreferPassiveOpenMp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  ::setenv("OMP_WAIT_POLICY", "passive", 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: run on as we are
}

// "query", "bench kernels": the command being run, for messages.
static std::string CommandName(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) {
    const std::string rest = CommandName(*sub);
    return sub->get_name() + (rest.empty() ? "" : " " + rest);
  }
  return "";
}

int main(int argc, char** argv) {
  PreferPassiveOpenMp(argv);
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
  landmark::cli::AddBenchCommands(app);
  landmark::cli::AddConfigCommand(app);
  landmark::cli::AddConfigOptions(app);  // after every command: --config on each
  landmark::cli::AddOptionChecks(app);   // and range checks on every numeric option
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;  // --help and --version exit 0, every error 1
  } catch (const landmark::Error& e) {
    std::fprintf(stderr, "landmark: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "landmark: error: out of memory while running `landmark %s` (a size option too large for "
                 "this machine, or a memory limit)\n", CommandName(app).c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "landmark: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
