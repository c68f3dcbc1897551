// The plan of a query (docs/design.md, "Positions and candidates"): what
// the retrieval engine's steps share. A RetrievalContext holds the store,
// the resolved config and the geometry; a QueryPlan holds one query's
// candidates [sink_end, cand_end), its sinks [0, sink_end) and its local
// term [local_begin, local_end); PlanItems lists the (chunk, kv head)
// pieces that the executors (cpu_executor.h, gpu_executor.h) attend.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "landmark/retriever.h"
#include "landmark/store.h"
#include "src/attention/top_k.h"

namespace landmark {

// Where a shard lies in the whole store (src/attention/retriever_shard.h).
struct ShardLayout {
  size_t first_chunk = 0;  // global id of this shard's chunk 0
  size_t chunks = 0;       // complete chunks of the whole store
  size_t tokens = 0;       // tokens of the whole store
};

// Per selection head, best first (global chunk ids).
using Selection = std::vector<std::vector<ScoredChunk>>;

struct RetrievalContext {
  // Checks the config against the store (throws landmark::Error).
  RetrievalContext(const StoreReader& store, const RetrieverConfig& config);

  const StoreReader& store;
  RetrieverConfig config;  // q_heads resolved
  StoreShape shape;
  size_t H = 0, G = 0, d = 0, S = 0, LH = 0, R = 0;
  // A shard of a larger store (ShardEngine): plans in the whole store's
  // chunk ids, and attends only the chunks this store holds.
  bool sharded = false;
  ShardLayout layout;

  size_t GlobalChunks() const { return sharded ? layout.chunks : store.chunks(); }
  size_t GlobalTokens() const { return sharded ? layout.tokens : store.tokens(); }
  size_t First() const { return sharded ? layout.first_chunk : 0; }
  // Whether this store holds global chunk c (its complete chunks, or its tail).
  bool Holds(size_t c) const {
    return c >= First() &&
           (c - First() < store.chunks() || (c - First() == store.chunks() && store.info().tail_tokens > 0));
  }
  ChunkKV ChunkOf(size_t c, size_t kv_head) const { return store.chunk(c - First(), kv_head); }
  // The selection head that serves kv head h.
  size_t SelectionHead(size_t h) const { return LH == H ? h : 0; }
  // The local term may be left out (a model's own SWA covers it).
  bool Local() const { return config.local_term; }
};

struct QueryPlan {
  bool empty = true;  // nothing visible (an empty store)
  size_t p = 0, sink_end = 0, cand_end = 0, local_begin = 0, local_end = 0;
};

QueryPlan MakePlan(const RetrievalContext& ctx, size_t position, bool past_store);

// This store's candidates [begin, end) (global ids) of a plan.
std::pair<size_t, size_t> HeldCandidates(const RetrievalContext& ctx, const QueryPlan& plan);

// r per selection head [LH][R]: given, or the mean of the group's queries.
void RetrievalVectors(const RetrievalContext& ctx, const RetrievalQuery& query, float* r);

// madvise(WILLNEED) of selection head h's chunks: one kv head's records, or
// every kv head's when one selection serves them all (config.prefetch).
void PrefetchSelected(const RetrievalContext& ctx, const std::vector<ScoredChunk>& chosen, size_t h);

// One chunk (or a prefix of it) attended by one kv head's queries.
struct PlanItem {
  size_t kv_head;
  size_t chunk;  // global id
  size_t tokens;
  bool zero_logit;
  int64_t selection;  // index in its selection head's chunks; -1: a sink or a local piece
};

// Kv head h's items of a plan, only the chunks this store holds, in order:
// its selected chunks, then the sinks (together: the retrieval items), then
// the local pieces. emit(const PlanItem&, bool retrieval).
template <class Emit>
void ForEachItem(const RetrievalContext& ctx, const QueryPlan& plan, const std::vector<ScoredChunk>& chosen, size_t h,
                 Emit&& emit) {
  if (plan.empty) return;
  const bool softmax1 = ctx.config.softmax_off_by_one;
  const size_t S = ctx.S;
  for (size_t i = 0; i < chosen.size(); ++i) {
    if (ctx.Holds(chosen[i].chunk)) emit(PlanItem{h, chosen[i].chunk, S, softmax1, int64_t(i)}, true);
  }
  for (size_t c = 0; c < plan.sink_end; ++c) {
    if (ctx.Holds(c)) emit(PlanItem{h, c, S, softmax1, -1}, true);
  }
  for (size_t c = plan.cand_end; ctx.Local() && c * S < plan.local_end; ++c) {
    if (ctx.Holds(c)) emit(PlanItem{h, c, std::min(S, plan.local_end - c * S), false, -1}, false);
  }
}

// Per kv head: its items (ForEachItem), contiguous.
struct PlanItems {
  std::vector<PlanItem> items;
  std::vector<size_t> first_item, retrieval_items;  // [H + 1], [H]
};

PlanItems MakeItems(const RetrievalContext& ctx, const QueryPlan& plan, const Selection& selected);

// Outputs sized and zeroed (lse -inf), counts filled; bytes_touched counts
// the landmarks scored and the K/V of `kv_tokens` attended token rows.
RetrievalResult EmptyResult(const RetrievalContext& ctx, const QueryPlan& plan, uint64_t kv_tokens);
uint64_t KvTokens(const PlanItems& items);

}  // namespace landmark
