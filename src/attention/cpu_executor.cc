#include "src/attention/cpu_executor.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cmath>
#include <memory>

#include "src/attention/explain.h"
#include "src/attention/fusion.h"

namespace landmark {
namespace {

// Prefetches [p, p + bytes) into L2 (never faults).
void PrefetchBytes(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(c + offset, 0, 2);
}

}  // namespace

RetrievalResult CpuExecutor::Attend(const QueryPlan& plan, const RetrievalQuery& query, const Selection& selected,
                                    std::vector<std::vector<float>>& selected_lse) const {
  const RetrievalContext& ctx = ctx_;
  const size_t H = ctx.H, G = ctx.G, d = ctx.d;
  const PlanItems it = MakeItems(ctx, plan, selected);
  RetrievalResult result = EmptyResult(ctx, plan, KvTokens(it));
  if (plan.empty) return result;
  const std::vector<PlanItem>& items = it.items;

  const float scale = 1.0f / std::sqrt(float(d));
  std::vector<QueryBlock> queries(H);
  for (size_t h = 0; h < H; ++h) queries[h].Prepare(query.q + h * G * d, 1, G, 0, d, scale);
  // Every element is written below: no zero fill.
  const std::unique_ptr<float[]> outs(new float[items.size() * G * d]), lses(new float[items.size() * G]);
  const size_t kv_bytes = d * SizeOf(ctx.shape.dtype);  // per token, K or V
  tbb::parallel_for(tbb::blocked_range<size_t>(0, items.size(), 4), [&](const tbb::blocked_range<size_t>& range) {
    SoftmaxAccumulator& acc = accumulators_.local();
    for (size_t i = range.begin(); i != range.end(); ++i) {
      // Selected chunks lie scattered through the store: fetch the next
      // one's K and V into L2 while this one is attended.
      if (i + 1 != range.end()) {
        const ChunkKV next = ctx.ChunkOf(items[i + 1].chunk, items[i + 1].kv_head);
        PrefetchBytes(next.keys, items[i + 1].tokens * kv_bytes);
        PrefetchBytes(next.values, items[i + 1].tokens * kv_bytes);
      }
      const PlanItem& item = items[i];
      const ChunkKV kv = ctx.ChunkOf(item.chunk, item.kv_head);
      acc.Reset(queries[item.kv_head]);
      AttendBlock(queries[item.kv_head], KVBlock{kv.keys, kv.values, ctx.shape.dtype, item.tokens, d, d}, nullptr, acc);
      acc.Finish(outs.get() + i * G * d, 0, lses.get() + i * G, 0, item.zero_logit);
    }
  });

  const bool hsa = ctx.config.fusion == Fusion::kHsa;
  std::vector<float> weights;
  for (size_t h = 0; h < H; ++h) {
    const size_t first = it.first_item[h], parts = it.first_item[h + 1] - first, retrieval = it.retrieval_items[h];
    if (hsa && retrieval > 0) {
      // The weights of the whole selection; this store's chunks take theirs.
      const std::vector<float> w = HsaWeights(selected[ctx.SelectionHead(h)], ctx.config.weights);
      weights.resize(retrieval * G);
      for (size_t i = 0; i < retrieval; ++i) std::fill_n(&weights[i * G], G, w[size_t(items[first + i].selection)]);
    }
    FuseParts(ctx.config.fusion, outs.get() + first * G * d, lses.get() + first * G, parts, retrieval,
              weights.data(), G, d, HeadRows(result, h, G, d));
  }
  selected_lse = SelectedLse(ctx, selected, it, lses.get());
  return result;
}

RetrievalResult CpuExecutor::Query(const QueryPlan& plan, const RetrievalQuery& query, const Selection& selected) const {
  std::vector<std::vector<float>> selected_lse;
  RetrievalResult result = Attend(plan, query, selected, selected_lse);
  if (!plan.empty) Explain(ctx_, selected, selected_lse, result);
  return result;
}

}  // namespace landmark
