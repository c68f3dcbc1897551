// `landmark bench decode`: the retrieval engine on synthetic tensor stores
// with planted needles: latency (warm and cold), bytes touched against the
// probed read bandwidth, recall of the needles, and the speedup over dense
// exact decode of the same store, from 128K to 16M tokens.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "landmark/probe.h"

namespace landmark::perf {

struct DecodeBenchOptions {
  bool quick = false;               // small stores (seconds), for tests
  std::string dir;                  // scratch directory for the stores
  bool keep = false;                // keep stores and the needle queries (.npy)
  bool cold = true;                 // cold-cache runs (drop_caches; needs root)
  std::vector<size_t> sizes;        // one-kv-head stores (default 128K, 1M, 4M, 16M)
  bool headline = true;             // plus n = 1M, H_kv 8, G 4, d 128
  size_t needles = 8;               // planted needles (one query each)
  size_t top_k = 64;
};

struct DecodeBenchRow {
  std::string config;               // "1 kv head" or "headline"
  size_t tokens = 0, kv_heads = 0, group = 0, d = 0;
  double warm_ms = 0, cold_ms = 0;  // median over the needle queries (cold: 0 if not run)
  double bytes = 0;                 // landmarks scored + K/V attended, per query
  double landmark_bytes = 0;        // of which landmarks
  double limit_ms = 0;              // bytes / probed read bandwidth (all threads)
  double dense_ms = 0;              // dense exact decode of the whole store
  double recall = 0;                // planted needle chunks in the top-k
  std::string store;                // path (with keep)
};

std::vector<DecodeBenchRow> BenchDecode(const MachineLimits& limits, const DecodeBenchOptions& options,
                                        const std::function<void(const std::string&)>& progress);

void PrintDecodeTable(std::FILE* out, const std::vector<DecodeBenchRow>& rows);
void WriteDecodeCsv(const std::string& path, const MachineLimits& limits, const std::vector<DecodeBenchRow>& rows);

}  // namespace landmark::perf
