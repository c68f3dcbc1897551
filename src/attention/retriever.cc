// The retrieval engine's front: a query is planned (retrieval_plan.h),
// selected (selection.h on the CPU; the GPU selects itself), attended and
// fused by the CPU or the GPU executor (cpu_executor.h, gpu_executor.h;
// fusion.h) and explained (explain.h). ShardEngine runs the same steps over
// one shard of a larger store (retriever_shard.h).

#include "landmark/retriever.h"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "landmark/error.h"
#include "src/attention/cpu_executor.h"
#include "src/attention/explain.h"
#include "src/attention/fusion.h"
#include "src/attention/gpu_executor.h"
#include "src/attention/landmark_scores.h"
#include "src/attention/retrieval_plan.h"
#include "src/attention/retriever_shard.h"
#include "src/attention/selection.h"

namespace landmark {

struct Retriever::Impl {
  RetrievalContext ctx;
  LandmarkScorer scorer;
  Device device;
  CpuExecutor cpu;
  std::unique_ptr<GpuExecutor> gpu;  // device kCuda

  Impl(const StoreReader& store, const RetrieverConfig& config)
      : ctx(store, config), scorer(store), device(ResolveDevice(ctx.config.device)), cpu(ctx) {
    if (device == Device::kCuda) gpu = std::make_unique<GpuExecutor>(ctx);
  }

  std::vector<float> RetrievalVector(const RetrievalQuery& query) const {
    std::vector<float> r(ctx.LH * ctx.R);
    RetrievalVectors(ctx, query, r.data());
    return r;
  }
};

Retriever::Retriever(const StoreReader& store, const RetrieverConfig& config)
    : impl_(std::make_unique<Impl>(store, config)) {}
Retriever::~Retriever() = default;
Retriever::Retriever(Retriever&&) noexcept = default;

const RetrieverConfig& Retriever::config() const { return impl_->ctx.config; }
Device Retriever::device() const { return impl_->device; }
bool Retriever::kv_on_gpu() const { return impl_->gpu && impl_->gpu->resident(); }

RetrievalResult Retriever::Query(const RetrievalQuery& query) const {
  LANDMARK_CHECK_ARG(query.q != nullptr, "retriever: the query q is null");
  const Impl& m = *impl_;
  if (m.gpu) return m.gpu->QueryBatch({query})[0];
  static const bool profile = std::getenv("LANDMARK_CPU_PROFILE") != nullptr;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const QueryPlan plan = MakePlan(m.ctx, query.position, query.past_store);
  const auto planned = Clock::now();
  Selection selected(m.ctx.LH);
  SelectTimes steps;
  if (!plan.empty) {
    selected = SelectTopK(m.ctx, m.scorer, plan, m.RetrievalVector(query).data(), profile ? &steps : nullptr);
  }
  if (!profile) return m.cpu.Query(plan, query, selected);
  // LANDMARK_CPU_PROFILE: each step's wall time, a line a query on stderr
  // (where the per-query floor at many threads goes; docs/scale.md).
  const auto chosen = Clock::now();
  std::vector<std::vector<float>> selected_lse;
  RetrievalResult result = m.cpu.Attend(plan, query, selected, selected_lse);
  const auto attended = Clock::now();
  if (!plan.empty) Explain(m.ctx, selected, selected_lse, result);
  const auto explained = Clock::now();
  const auto ms = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  std::fprintf(stderr,
               "cpu-profile kv heads %zu, threads %d: plan %.4f ms, select %.4f (score %.4f, choose %.4f), "
               "attend+fuse %.4f, explain %.4f, whole %.4f\n",
               m.ctx.H, tbb::this_task_arena::max_concurrency(), ms(start, planned), ms(planned, chosen),
               steps.score_ms, steps.choose_ms, ms(chosen, attended), ms(attended, explained), ms(start, explained));
  return result;
}

RetrievalResult Retriever::QueryChunks(const RetrievalQuery& query, const std::vector<uint32_t>& chunks,
                                       const std::vector<float>& scores) const {
  LANDMARK_CHECK_ARG(query.q != nullptr, "retriever: the query q is null");
  LANDMARK_CHECK_ARG(chunks.size() == scores.size(), "retriever: one score per chosen chunk");
  const Impl& m = *impl_;
  const QueryPlan plan = MakePlan(m.ctx, query.position, query.past_store);
  return m.cpu.Query(plan, query, GivenSelection(m.ctx, plan, chunks, scores));
}

std::vector<RetrievalResult> Retriever::QueryBatch(const std::vector<RetrievalQuery>& queries) const {
  const Impl& m = *impl_;
  for (const RetrievalQuery& q : queries) LANDMARK_CHECK_ARG(q.q != nullptr, "retriever: a query q is null");
  if (m.gpu) return m.gpu->QueryBatch(queries);
  const size_t M = queries.size(), r_size = m.ctx.LH * m.ctx.R;
  std::vector<QueryPlan> plans;
  std::vector<float> r(M * r_size, 0.0f);
  for (size_t i = 0; i < M; ++i) {
    plans.push_back(MakePlan(m.ctx, queries[i].position, queries[i].past_store));
    if (!plans.back().empty) RetrievalVectors(m.ctx, queries[i], &r[i * r_size]);
  }
  const std::vector<Selection> selected = SelectBatch(m.ctx, m.scorer, plans, r);
  std::vector<RetrievalResult> results(M);
  tbb::parallel_for(size_t(0), M, [&](size_t i) { results[i] = m.cpu.Query(plans[i], queries[i], selected[i]); });
  return results;
}

// ------------------------------------------------------------------ shards

ShardEngine::ShardEngine(const StoreReader& shard, const RetrieverConfig& config, const ShardLayout& layout)
    : retriever_(shard, [&] {
        RetrieverConfig c = config;
        c.device = Device::kCpu;
        return c;
      }()) {
  RetrievalContext& ctx = retriever_.impl_->ctx;
  LANDMARK_CHECK_ARG(layout.first_chunk + shard.chunks() <= layout.chunks &&
                         layout.tokens >= layout.chunks * ctx.S &&
                         (shard.info().tail_tokens == 0 || layout.first_chunk + shard.chunks() == layout.chunks),
                     "shard: chunks [" + std::to_string(layout.first_chunk) + ", " +
                         std::to_string(layout.first_chunk + shard.chunks()) + ") do not fit a store of " +
                         std::to_string(layout.chunks) + " chunks (only the last shard may end in a partial chunk)");
  ctx.sharded = true;
  ctx.layout = layout;
}

ShardEngine::~ShardEngine() = default;

const RetrieverConfig& ShardEngine::config() const { return retriever_.config(); }
size_t ShardEngine::selection_heads() const { return retriever_.impl_->ctx.LH; }

Selection ShardEngine::SelectLocal(const RetrievalQuery& query) const {
  const Retriever::Impl& m = *retriever_.impl_;
  LANDMARK_CHECK_ARG(query.q != nullptr, "retriever: the query q is null");
  const QueryPlan plan = MakePlan(m.ctx, query.position, query.past_store);
  if (plan.empty) return Selection(m.ctx.LH);
  return SelectTopK(m.ctx, m.scorer, plan, m.RetrievalVector(query).data());
}

ShardPartial ShardEngine::AttendLocal(const RetrievalQuery& query, const Selection& selected) const {
  const Retriever::Impl& m = *retriever_.impl_;
  const QueryPlan plan = MakePlan(m.ctx, query.position, query.past_store);
  ShardPartial p;
  RetrievalResult r = m.cpu.Attend(plan, query, selected, p.selected_lse);
  if (plan.empty) p.selected_lse.assign(m.ctx.LH, {});
  p.out = std::move(r.out);
  p.lse = std::move(r.lse);
  p.local_out = std::move(r.local_out);
  p.local_lse = std::move(r.local_lse);
  p.bytes_touched = r.bytes_touched;
  return p;
}

RetrievalResult ShardEngine::Combine(const RetrievalQuery& query, const Selection& selected,
                                     const std::vector<ShardPartial>& partials) const {
  const RetrievalContext& ctx = retriever_.impl_->ctx;
  const QueryPlan plan = MakePlan(ctx, query.position, query.past_store);
  RetrievalResult result = EmptyResult(ctx, plan, 0);
  if (plan.empty) return result;
  const size_t parts = partials.size(), d = ctx.d, G = ctx.G;
  const bool hsa = ctx.config.fusion == Fusion::kHsa;
  result.bytes_touched = 0;
  for (const ShardPartial& p : partials) result.bytes_touched += p.bytes_touched;
  // Per kv head, the shards' parts stacked as FuseParts takes them: joint,
  // [shards] of (out, lse); hsa, [shards] of the weighted retrieval sums
  // (weight 1) then [shards] of the local (out, lse).
  const size_t stacked = hsa ? 2 * parts : parts;
  std::vector<float> outs(stacked * G * d), lses(stacked * G, 0.0f), ones(parts * G, 1.0f);
  for (size_t h = 0; h < ctx.H; ++h) {
    for (size_t i = 0; i < parts; ++i) {
      const ShardPartial& p = partials[i];
      std::copy_n(&p.out[h * G * d], G * d, &outs[i * G * d]);
      if (hsa) {
        std::copy_n(&p.local_out[h * G * d], G * d, &outs[(parts + i) * G * d]);
        std::copy_n(&p.local_lse[h * G], G, &lses[(parts + i) * G]);
      } else {
        std::copy_n(&p.lse[h * G], G, &lses[i * G]);
      }
    }
    FuseParts(ctx.config.fusion, outs.data(), lses.data(), stacked, hsa ? parts : 0, ones.data(), G, d,
              HeadRows(result, h, G, d));
  }
  std::vector<std::vector<float>> selected_lse(ctx.LH);
  for (size_t s = 0; s < ctx.LH; ++s) {
    for (const ShardPartial& p : partials) {
      if (selected_lse[s].empty()) selected_lse[s].assign(p.selected_lse[s].size(), -std::numeric_limits<float>::infinity());
      LANDMARK_ASSERT(p.selected_lse[s].size() == selected_lse[s].size());
      for (size_t i = 0; i < selected_lse[s].size(); ++i) selected_lse[s][i] = std::max(selected_lse[s][i], p.selected_lse[s][i]);
    }
  }
  Explain(ctx, selected, selected_lse, result);
  return result;
}

}  // namespace landmark
