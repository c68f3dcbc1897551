// `landmark bench ingest`: store write throughput against the disk's probed
// write bandwidth, peak anonymous RSS (bounded at any store size), and the
// time to open a large store.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "src/probe/probe.h"
#include "perf/bench_report.h"

namespace landmark::perf {

struct IngestBenchOptions {
  bool quick = false;          // 64 MiB and 256 MiB stores instead of 1 GiB and 8 GiB
  std::string dir;             // scratch directory (on the disk to measure)
  bool keep = false;           // keep the stores
  bool drop_caches = true;     // cold-cache open time (needs root; warm otherwise)
};

struct IngestBenchRow {
  std::string what;
  double value;
  std::string unit, target;
  bool met;
};

struct IngestBenchReport {
  std::vector<BenchResult> throughput;  // against Limit::kDiskWrite
  std::vector<IngestBenchRow> rows;     // RSS and open times
  size_t input_buffer_bytes = 0;        // the benchmark's own input batch (part of the RSS)
};

// Probes limits.disk_write_gbps, then ingests synthetic K/V (8 kv heads,
// d 128, f16) into stores of each size.
IngestBenchReport BenchIngest(MachineLimits& limits, const IngestBenchOptions& options,
                              const std::function<void(const std::string&)>& progress);

}  // namespace landmark::perf
