// `landmark bench kernels`: the foundation kernels on a built-in workload,
// each reported against the probed machine limit.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "perf/bench_report.h"

namespace landmark::perf {

struct KernelBenchOptions {
  bool quick = false;        // small shapes (seconds, for tests and CI)
  std::string filter;        // run kernels whose name contains this ("" = all)
  size_t decode_tokens = 0;  // override n for dense-decode (0: 1M, quick 32K)
  size_t prefill_tokens = 0; // override L for causal-prefill (0: 4096, quick 256)
};

// Runs the suite; `progress` receives a line before each measurement.
std::vector<BenchResult> BenchKernels(const KernelBenchOptions& options,
                                      const std::function<void(const std::string&)>& progress);

}  // namespace landmark::perf
