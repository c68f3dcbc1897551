#include "src/attention/retrieval_plan.h"

#include <algorithm>
#include <limits>
#include <string>

#include "landmark/error.h"

namespace landmark {

RetrievalContext::RetrievalContext(const StoreReader& s, const RetrieverConfig& c)
    : store(s), config(c), shape(s.shape()) {
  H = shape.kv_heads;
  d = shape.head_dim;
  S = shape.chunk_size;
  LH = shape.landmark_heads;
  R = shape.landmark_dim;
  if (config.q_heads == 0) config.q_heads = H;
  LANDMARK_CHECK_ARG(config.q_heads % H == 0, "retriever: query heads (" + std::to_string(config.q_heads) +
                                                  ") must be a multiple of the store's kv heads (" +
                                                  std::to_string(H) + ")");
  G = config.q_heads / H;
  LANDMARK_CHECK_ARG(G <= kMaxGroup, "retriever: " + std::to_string(G) + " query heads per kv head; at most " +
                                         std::to_string(kMaxGroup));
  LANDMARK_CHECK_ARG(LH == H || LH == 1, "retriever: the store has " + std::to_string(LH) +
                                             " landmark heads; selection needs one per kv head (" +
                                             std::to_string(H) + ") or one shared");
  LANDMARK_CHECK_ARG(config.fusion == Fusion::kJoint || config.sink_chunks == 0,
                     "retriever: sink chunks belong to joint fusion");
}

QueryPlan MakePlan(const RetrievalContext& ctx, size_t position, bool past_store) {
  QueryPlan plan;
  const size_t n = ctx.GlobalTokens(), S = ctx.S, window = ctx.config.window;
  if (position == kLastPosition) {
    if (n == 0) return plan;
    position = n - 1;
  }
  LANDMARK_CHECK_ARG(position < n || past_store, "retriever: query position " + std::to_string(position) +
                                                     " is past the store's " + std::to_string(n) + " tokens");
  const size_t visible = position + 1;
  plan.cand_end = visible >= window ? (visible - window) / S : 0;
  LANDMARK_CHECK_ARG(plan.cand_end <= ctx.GlobalChunks(),
                     "retriever: a query at position " + std::to_string(position) + " with window " +
                         std::to_string(window) + " needs chunks past the store's " +
                         std::to_string(ctx.GlobalChunks()) + " complete chunks");
  plan.empty = n == 0;
  plan.p = position;
  plan.sink_end = ctx.config.fusion == Fusion::kJoint ? std::min(ctx.config.sink_chunks, plan.cand_end) : 0;
  plan.local_begin = plan.cand_end * S;
  plan.local_end = std::min(visible, n);
  return plan;
}

std::pair<size_t, size_t> HeldCandidates(const RetrievalContext& ctx, const QueryPlan& plan) {
  const size_t begin = std::max(plan.sink_end, ctx.First());
  const size_t end = std::min(plan.cand_end, ctx.First() + ctx.store.chunks());
  return {begin, std::max(begin, end)};
}

void RetrievalVectors(const RetrievalContext& ctx, const RetrievalQuery& query, float* r) {
  const size_t LH = ctx.LH, R = ctx.R, d = ctx.d;
  if (query.r) {
    std::copy(query.r, query.r + LH * R, r);
    return;
  }
  LANDMARK_CHECK_ARG(R == d, "retriever: landmarks of dim " + std::to_string(R) + " differ from the head dim " +
                                 std::to_string(d) + "; give the retrieval query r");
  std::fill(r, r + LH * R, 0.0f);
  const size_t per_head = ctx.config.q_heads / LH;  // the queries whose mean is r
  for (size_t h = 0; h < LH; ++h) {
    for (size_t g = 0; g < per_head; ++g) {
      const float* q = query.q + (h * per_head + g) * d;
      for (size_t k = 0; k < d; ++k) r[h * R + k] += q[k] / float(per_head);
    }
  }
}

void PrefetchSelected(const RetrievalContext& ctx, const std::vector<ScoredChunk>& chosen, size_t h) {
  if (!ctx.config.prefetch || chosen.empty()) return;
  std::vector<size_t> ids;
  ids.reserve(chosen.size());
  for (const ScoredChunk& c : chosen) ids.push_back(c.chunk - ctx.First());
  ctx.store.Prefetch(ids.data(), ids.size(), ctx.LH == ctx.H ? h : StoreReader::kAllHeads);
}

PlanItems MakeItems(const RetrievalContext& ctx, const QueryPlan& plan, const Selection& selected) {
  PlanItems it;
  it.first_item.assign(ctx.H + 1, 0);
  it.retrieval_items.assign(ctx.H, 0);
  if (plan.empty) return it;
  for (size_t h = 0; h < ctx.H; ++h) {
    it.first_item[h] = it.items.size();
    ForEachItem(ctx, plan, selected[ctx.SelectionHead(h)], h, [&](const PlanItem& item, bool retrieval) {
      it.items.push_back(item);
      it.retrieval_items[h] += retrieval;
    });
  }
  it.first_item[ctx.H] = it.items.size();
  return it;
}

uint64_t KvTokens(const PlanItems& items) {
  uint64_t tokens = 0;
  for (const PlanItem& item : items.items) tokens += item.tokens;
  return tokens;
}

RetrievalResult EmptyResult(const RetrievalContext& ctx, const QueryPlan& plan, uint64_t kv_tokens) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  RetrievalResult result;
  const size_t q_heads = ctx.config.q_heads, d = ctx.d;
  const bool hsa = ctx.config.fusion == Fusion::kHsa;
  result.out.assign(q_heads * d, 0.0f);
  result.lse.assign(hsa ? 0 : q_heads, kNegInf);
  if (hsa) {
    result.local_out.assign(q_heads * d, 0.0f);
    result.local_lse.assign(q_heads, kNegInf);
  }
  result.selections.resize(ctx.LH);
  if (plan.empty) return result;
  result.position = plan.p;
  result.candidates = plan.cand_end - plan.sink_end;
  result.local_tokens = ctx.Local() ? plan.local_end - plan.local_begin : 0;
  const size_t b = SizeOf(ctx.shape.dtype);
  const auto [begin, end] = HeldCandidates(ctx, plan);
  result.bytes_touched = uint64_t(end - begin) * ctx.LH * ctx.shape.landmark_values() * b;
  result.bytes_touched += 2 * kv_tokens * d * b;
  return result;
}

}  // namespace landmark
