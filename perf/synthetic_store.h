// Synthetic stores for the benchmarks (decode, cross-decoder).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace landmark::perf {

struct Planted {
  std::vector<size_t> chunks;   // per needle
  std::vector<float> queries;   // [needles][H·G][d]: gain · the needle's direction
};

// n tokens, H kv heads, d dims (f16, mean landmarks, S = 64) of unit-variance
// noise, with `needles` chunks whose keys carry a needle direction; replaces
// `dir`. progress() gets a line every 4M tokens.
// With shards > 0, the same tokens are also written as a sharded store
// under shard_prefix (ShardPath(shard_prefix, i), split at chunk boundaries
// as `ingest --shards` does).
Planted BuildStore(const std::string& dir, size_t n, size_t H, size_t G, size_t d, size_t needles, uint32_t seed,
                   const std::function<void(const std::string&)>& progress, size_t shards = 0,
                   const std::string& shard_prefix = "");

}  // namespace landmark::perf
