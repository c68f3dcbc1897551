// Benchmark results: each figure beside the machine limit it is bounded by,
// printed as a table and written as CSV (perf/plot.py draws it).
#pragma once

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "src/probe/probe.h"

namespace landmark::perf {

// The probed machine limit that bounds a kernel.
enum class Limit { kReadOneThread, kReadAllThreads, kFmaOneThread, kFmaAllThreads, kDiskWrite };

double LimitValue(const MachineLimits& limits, Limit limit);  // GB/s or GFLOP/s
std::string LimitName(const MachineLimits& limits, Limit limit);  // e.g. "read, 2 threads"
const char* LimitUnit(Limit limit);                               // "GB/s" or "GFLOP/s"

// Element-wise best of two probes: interference only ever lowers a measured
// rate, so probing before and after a suite and keeping the best is robust.
MachineLimits BestOf(const MachineLimits& a, const MachineLimits& b);

struct BenchResult {
  std::string kernel;  // e.g. "dense-decode"
  std::string dtype;   // storage dtype of K/V or rows
  std::string shape;   // e.g. "n=1048576 Hq=8 Hkv=2 d=128"
  double work = 0;     // bytes (bandwidth-bound) or FLOPs (compute-bound) per run
  Limit limit = Limit::kReadOneThread;
  std::string target;  // acceptance target as a ratio ("" if none), e.g. ">= 0.70"
  double seconds = 0;  // best of the repeats
  double measured() const { return work / seconds / 1e9; }  // GB/s or GFLOP/s
};

using Clock = std::chrono::steady_clock;
// Milliseconds from a to b.
inline double Millis(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count() * 1e3;
}

// User + system CPU time of this process so far, seconds (every thread):
// figures per CPU-second do not depend on other load on the machine.
double ProcessCpuSeconds();

// Best wall time of `run` over at least `min_repeats` runs and `min_seconds`
// in total, after one warm-up run.
double BestSeconds(const std::function<void()>& run, int min_repeats = 3, double min_seconds = 0.3);

// sync, then drop the page cache (echo 3 > /proc/sys/vm/drop_caches): true if
// it could (root), so that the next reads come from disk.
bool DropPageCache();

void PrintMachine(std::FILE* out, const MachineLimits& limits);
void PrintTable(std::FILE* out, const MachineLimits& limits, const std::vector<BenchResult>& results);
// Writes the CSV (creating parent directories); throws landmark::Error on failure.
void WriteCsv(const std::string& path, const MachineLimits& limits,
              const std::vector<BenchResult>& results);

// Helpers for suites with their own tables: an RFC 4180 quoted CSV field,
// a time with a readable unit ("1.23 ms"), and a CSV file opened for
// writing with its parent directories created (throws landmark::Error).
std::string Quoted(const std::string& field);
std::string FormatTime(double seconds);
std::ofstream OpenCsv(const std::string& path);

}  // namespace landmark::perf
