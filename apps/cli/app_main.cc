#include "apps/cli/app_main.h"

#include <tbb/global_control.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <new>
#include <string>

#include "landmark/error.h"
#include "apps/cli/commands.h"
#include "apps/cli/config_option.h"
#include "apps/cli/option_checks.h"

namespace landmark::cli {

void RunWithThreads(size_t threads, const std::function<void()>& command) {
  if (threads == 0) return command();
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  command();
}

// oneDNN runs on OpenMP, everything else on TBB. libgomp's idle workers
// spin by default and, on a 2-core machine, took 40-60% of the CPU from the
// TBB tasks of a decode step (5× slower steps). The wait policy is read only
// when libgomp loads, so the program re-executes itself once with it set to
// passive unless the user chose one. Embedders: set OMP_WAIT_POLICY=passive.
void PreferPassiveOpenMp(char** argv) {
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

int RunApp(CLI::App& app, int argc, char** argv, const char* program) {
  AddConfigOptions(app);  // after every command: --config on each
  AddOptionChecks(app);   // and range checks on every numeric option
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;  // --help and --version exit 0, every error 1
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", program, e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: error: out of memory while running `%s %s` (a size option too large for "
                 "this machine, or a memory limit)\n", program, program, CommandName(app).c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", program, e.what());
    return 1;
  }
  return 0;
}

}  // namespace landmark::cli
