// `landmark bench model`: landmark's byte model end to end at 64K-16M
// tokens: a fresh pass-key haystack per size ingested through the lower
// blocks (throughput against the model's FLOPs and the probed FMA peak),
// one question per needle answered through HSA over the store (accuracy,
// latency warm and first-pass, bytes read against the probed bandwidth).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "src/probe/probe.h"

namespace landmark::perf {

struct ModelBenchOptions {
  std::string model = "default";
  std::vector<size_t> sizes;  // default 64K, 1M, 4M, 16M
  size_t needles = 16;        // needles per size (one question each; multivalue: one per two)
  std::string task = "single";  // single | multikey | multivalue (apps/demo/model_demo.h)
  std::string dir;            // scratch directory for the stores
  bool keep = false;          // keep the stores
  uint64_t seed = 7;          // haystacks differ from the demo's
};

struct ModelBenchRow {
  size_t tokens = 0, questions = 0, correct = 0, retrieved = 0;
  size_t values = 0, values_found = 0;  // pass keys asked for, and found in the answers (RULER's string_match_all)
  double ingest_s = 0, lower_s = 0, flops_per_token = 0;
  double lower_gflops = 0, lower_ratio = 0;  // of the FMA peak (all threads)
  // Contention-proof: the ingest's FLOPs ÷ its CPU time (all threads, the
  // whole ingest) against one thread's FMA peak.
  double cpu_s = 0, cpu_gflops = 0, cpu_ratio = 0;
  double warm_median_ms = 0, warm_p95_ms = 0, first_median_ms = 0;
  double bytes = 0;     // per answer
  double limit_ms = 0;  // bytes ÷ read bandwidth (all threads)
  double store_bytes = 0;
};

std::vector<ModelBenchRow> BenchModel(const ModelBenchOptions& options,
                                      const std::function<void(const std::string&)>& log);
// Fills the ratios of `rows` against `limits` (probed around the run).
void RateModelRows(std::vector<ModelBenchRow>& rows, const MachineLimits& limits);
void PrintModelTable(std::FILE* out, const std::vector<ModelBenchRow>& rows);
void WriteModelCsv(const std::string& path, const MachineLimits& limits, const std::string& model,
                   const std::string& task, const std::vector<ModelBenchRow>& rows);

}  // namespace landmark::perf
