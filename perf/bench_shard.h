// `mpirun -np N landmark bench sharded`: latency of the sharded query
// against ranks on one host: a planted-needle store split into N shards,
// each rank holding one; the same queries through one process over the
// whole store, selections and outputs compared; time per step and bytes
// moved between ranks per query.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include "landmark/shard.h"

namespace landmark::perf {

struct ShardBenchOptions {
  size_t tokens = size_t(1) << 20, kv_heads = 1, group = 4, d = 128, top_k = 64, needles = 8;
  std::string dir;  // scratch (shared by the ranks; rank 0 builds the stores)
  bool keep = false;
};

struct ShardBenchRow {
  size_t ranks = 0, tokens = 0, kv_heads = 0, threads = 0;
  double sharded_ms = 0, single_ms = 0;  // median over the needles of the best of 5
  ShardTimings steps;                    // rank 0's, of the fastest sharded query
  double bytes_moved = 0;                // between ranks per query, all ranks
  double bytes_read = 0;                 // landmarks + K/V per query, all ranks
  double read_gbps = 0;                  // this host's read bandwidth (all threads)
  bool same_selections = false;
  double max_diff = 0;                   // max |sharded - single| of the outputs
};

// Collective; the row is filled on rank 0.
ShardBenchRow BenchShards(Communicator& comm, const ShardBenchOptions& options,
                          const std::function<void(const std::string&)>& progress);
void PrintShardTable(std::FILE* out, const ShardBenchRow& row);
// Appends the row (writing the header first when the file is new).
void AppendShardCsv(const std::string& path, const std::string& cpu, const ShardBenchRow& row);

}  // namespace landmark::perf
