// Benchmark results: each figure beside the machine limit it is bounded by,
// printed as a table and written as CSV (perf/plot.py draws it).
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "landmark/probe.h"

namespace landmark::perf {

struct BenchResult {
  std::string kernel;      // e.g. "dense-decode"
  std::string dtype;       // storage dtype of K/V or rows
  std::string shape;       // e.g. "n=1048576 Hq=8 Hkv=2 d=128"
  double seconds = 0;      // best of the repeats
  double work = 0;         // bytes or FLOPs per run
  std::string unit;        // "GB/s" or "GFLOP/s"
  std::string limit_name;  // which probed limit bounds it, e.g. "read, 2 threads"
  double limit = 0;        // that limit, in `unit`
  std::string target;      // acceptance target as a ratio ("" if none), e.g. ">= 0.70"
  double measured() const { return work / seconds / 1e9; }
  double ratio() const { return limit > 0 ? measured() / limit : 0; }
};

// Best wall time of `run` over at least `min_repeats` runs and `min_seconds`
// in total, after one warm-up run.
double BestSeconds(const std::function<void()>& run, int min_repeats = 3, double min_seconds = 0.3);

void PrintMachine(std::FILE* out, const MachineLimits& limits);
void PrintTable(std::FILE* out, const std::vector<BenchResult>& results);
// Writes the CSV (creating parent directories); throws landmark::Error on failure.
void WriteCsv(const std::string& path, const MachineLimits& limits,
              const std::vector<BenchResult>& results);

}  // namespace landmark::perf
