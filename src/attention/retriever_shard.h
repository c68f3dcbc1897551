// The retrieval engine's steps over one shard of a larger store, for the
// sharded query (src/shard/): a shard holds the complete chunks
// [first_chunk, first_chunk + its chunks) of the whole store, in global
// chunk ids, and only the last shard may hold a tail. Every shard plans
// the query against the whole store (candidates, sinks, local term), keeps
// a local top-k of its own candidates, attends what it holds of the agreed
// global selection, and rank 0 combines the partial results:
//   joint: LSE merge of each shard's (output, lse) — the same softmax as
//          one process over the whole store, up to f32 rounding;
//   hsa:   Σ of each shard's Σ_{i held} w_i·o_i (weights of the global
//          selection), the local term by LSE merge.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "landmark/retriever.h"
#include "src/attention/retrieval_plan.h"

namespace landmark {

// One shard's part of one query's result.
struct ShardPartial {
  std::vector<float> out;        // [H_q][d]: joint: merged output of the parts held here; hsa: Σ w_i·o_i
  std::vector<float> lse;        // joint [H_q]: their log-sum-exp (-inf: none)
  std::vector<float> local_out;  // hsa [H_q][d], local_lse [H_q]: the local pieces held here
  std::vector<float> local_lse;
  // Per selection head: [selected][served kv heads][G] log-sum-exps of the
  // chunks attended here, -inf elsewhere (joint explanations).
  std::vector<std::vector<float>> selected_lse;
  uint64_t bytes_touched = 0;
};

class ShardEngine {
 public:
  // Runs on the CPU (config.device is ignored). Keeps a reference to `shard`.
  ShardEngine(const StoreReader& shard, const RetrieverConfig& config, const ShardLayout& layout);
  ~ShardEngine();

  const RetrieverConfig& config() const;
  size_t selection_heads() const;  // LH
  // This shard's candidates' top-k per selection head (global ids).
  Selection SelectLocal(const RetrievalQuery& query) const;
  ShardPartial AttendLocal(const RetrievalQuery& query, const Selection& selected) const;
  // Every shard's partial (any order of shards), fused and explained.
  RetrievalResult Combine(const RetrievalQuery& query, const Selection& selected,
                          const std::vector<ShardPartial>& partials) const;

 private:
  Retriever retriever_;
};

}  // namespace landmark
