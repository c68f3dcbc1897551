// `landmark bench cross-decoder`: decode steps of an all-attention
// cross-decoder vs the 50% GMU stack (SambaY pattern) over the same store:
// step time, bytes read (weights, store, memory) against the probed read
// bandwidth, the I/O of one hsa layer vs one GMU layer, and the speedup.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "src/probe/probe.h"

namespace landmark::perf {

struct CrossDecoderBenchOptions {
  bool quick = false;          // d_model 256, 4 layers, a 16K store (seconds), for tests
  std::string dir;             // scratch directory (stores, weights)
  bool keep = false;
  std::vector<size_t> sizes;   // tokens (default 32K, 1M, 4M)
  std::vector<size_t> batches; // decode streams per step (default 1, 8)
  size_t steps = 10;           // timed steps per point (median), after 2 warm-ups
};

struct CrossDecoderBenchRow {
  std::string stack;           // "all-hsa" | "gmu-alternate"
  size_t tokens = 0, batch = 0, layers = 0, hsa_layers = 0, d_model = 0;
  double step_ms = 0;          // median
  double weight_bytes = 0, store_bytes = 0, memory_bytes = 0;  // per step
  double hsa_layer_io = 0;     // store bytes one hsa layer reads per stream
  double gmu_layer_io = 0;     // memory bytes one GMU layer reads per stream (0 without GMU)
  double limit_ms = 0;         // all bytes / probed read bandwidth
  double dense_ms = 0;         // est. all-attention stack with dense decode: layers × one dense layer
  double speedup = 0;          // all-hsa step / this step (same tokens, batch)
};

std::vector<CrossDecoderBenchRow> BenchCrossDecoder(const MachineLimits& limits,
                                                    const CrossDecoderBenchOptions& options,
                                                    const std::function<void(const std::string&)>& progress);

void PrintCrossDecoderTable(std::FILE* out, const std::vector<CrossDecoderBenchRow>& rows);
void WriteCrossDecoderCsv(const std::string& path, const MachineLimits& limits,
                          const std::vector<CrossDecoderBenchRow>& rows);

}  // namespace landmark::perf
