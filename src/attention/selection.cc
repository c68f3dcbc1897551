#include "src/attention/selection.h"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <memory>

#include "src/attention/top_k.h"

namespace landmark {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// Landmark bytes per scoring task, at least: enough work to pay for the
// task; otherwise the candidates are cut into 4 tasks per thread, so that
// every core scores (a 1M-token store of one head is 4 MiB of landmarks).
constexpr size_t kMinScoreBytes = size_t(32) << 10;
// Chunks per scoring task, at least.
constexpr size_t kMinRangeChunks = 128;

}  // namespace

Selection SelectTopK(const RetrievalContext& ctx, const LandmarkScorer& scorer, const QueryPlan& plan,
                     const float* r, SelectTimes* times) {
  using Clock = std::chrono::steady_clock;
  const auto now = [times] { return times ? Clock::now() : Clock::time_point(); };
  const auto start = now();
  const size_t LH = ctx.LH, k = ctx.config.top_k;
  Selection selected(LH);
  const std::pair<size_t, size_t> held = HeldCandidates(ctx, plan);
  const size_t begin = held.first, end = held.second;
  if (plan.empty || end <= begin || k == 0) return selected;
  const size_t count = end - begin;
  const size_t chunk_bytes = LH * ctx.shape.landmark_values() * SizeOf(ctx.shape.dtype);
  const size_t min_chunks = std::max<size_t>(kMinRangeChunks, kMinScoreBytes / std::max<size_t>(1, chunk_bytes));
  const size_t threads = size_t(std::max(1, tbb::this_task_arena::max_concurrency()));
  const size_t ranges = std::clamp<size_t>((count + min_chunks - 1) / min_chunks, 1, 4 * threads);
  const size_t per_range = (count + ranges - 1) / ranges;
  // Per head, a threshold a few k scores reach, from a sample of them all
  // (every stride-th, copied out by the task that scores it).
  const SamplePlan sampling = PlanSample(count, k);
  const size_t samples = sampling.stride > 0 ? (count + sampling.stride - 1) / sampling.stride : 0;
  // scores [head][candidate], sampled [head][sample]: every element is
  // written by its range's task.
  const std::unique_ptr<float[]> scores(new float[LH * count]), sampled(new float[LH * samples]);
  // Each task scores its range for every head in one pass: the landmarks
  // [chunk][head][R] are read front to back once (one head at a time would
  // read a slice of each row, and the prefetchers cannot follow).
  tbb::parallel_for(size_t(0), ranges, [&](size_t range) {
    const size_t from = range * per_range, to = std::min(count, from + per_range);
    if (from >= to) return;
    scorer.ScoreHeads(r, begin + from - ctx.First(), to - from, scores.get() + from, count);
    if (samples == 0) return;
    const size_t stride = sampling.stride;
    for (size_t h = 0; h < LH; ++h) {
      for (size_t i = (from + stride - 1) / stride * stride; i < to; i += stride) {
        sampled[h * samples + i / stride] = scores[h * count + i];
      }
    }
  });
  // Two parallel steps and no more (each is a fork and join of every
  // thread): the thresholds from the samples are a few hundred values a
  // head, found here; each head then keeps what reaches its threshold and
  // the k best of those. Too few scores to sample: one heap over them all.
  const auto scored = now();
  std::vector<float> threshold(LH, kNegInf), sample;
  for (size_t h = 0; h < LH && samples > 0; ++h) {
    sample.assign(sampled.get() + h * samples, sampled.get() + (h + 1) * samples);
    threshold[h] = SampleThreshold(sample, sampling.rank);
  }
  tbb::parallel_for(size_t(0), LH, [&](size_t h) {
    const float* head_scores = scores.get() + h * count;
    std::vector<ScoredChunk> candidates;
    if (samples > 0) AppendAtLeast(head_scores, count, uint32_t(begin), threshold[h], candidates);
    selected[h] = BestOfCandidates(std::move(candidates), head_scores, count, uint32_t(begin), k);
    PrefetchSelected(ctx, selected[h], h);
  });
  if (times) {
    times->score_ms = std::chrono::duration<double, std::milli>(scored - start).count();
    times->choose_ms = std::chrono::duration<double, std::milli>(now() - scored).count();
  }
  return selected;
}

std::vector<Selection> SelectBatch(const RetrievalContext& ctx, const LandmarkScorer& scorer,
                                   const std::vector<QueryPlan>& plans, const std::vector<float>& r) {
  const size_t M = plans.size(), LH = ctx.LH, R = ctx.R;
  std::vector<Selection> selected(M, Selection(LH));
  if (M < ctx.config.batch_gemm_min || !scorer.SupportsGemm()) {
    for (size_t i = 0; i < M; ++i) {
      if (!plans[i].empty) selected[i] = SelectTopK(ctx, scorer, plans[i], &r[i * LH * R]);
    }
    return selected;
  }
  // One GEMM per landmark tile scores every query; each keeps its own top-k.
  std::vector<TopK> top(M * LH, TopK(ctx.config.top_k));
  size_t rows = 0;
  for (const QueryPlan& p : plans) rows = std::max(rows, p.empty ? 0 : p.cand_end);
  std::vector<float> rm(LH * M * R, 0.0f);  // [LH][M][R]
  for (size_t h = 0; h < LH; ++h) {
    for (size_t i = 0; i < M; ++i) {
      if (!plans[i].empty) std::copy_n(&r[(i * LH + h) * R], R, &rm[(h * M + i) * R]);
    }
  }
  scorer.ScoreBatch(rm.data(), M, rows, [&](size_t h, size_t first, size_t count, const float* scores) {
    tbb::parallel_for(size_t(0), M, [&](size_t i) {  // each query's heap is its own
      const QueryPlan& p = plans[i];
      if (p.empty) return;
      const size_t begin = std::max(first, p.sink_end), end = std::min(first + count, p.cand_end);
      if (begin < end) top[i * LH + h].PushRange(scores + i * count + (begin - first), end - begin, uint32_t(begin));
    });
  });
  for (size_t i = 0; i < M; ++i) {
    for (size_t h = 0; h < LH; ++h) {
      selected[i][h] = top[i * LH + h].Sorted();
      PrefetchSelected(ctx, selected[i][h], h);
    }
  }
  return selected;
}

Selection GivenSelection(const RetrievalContext& ctx, const QueryPlan& plan, const std::vector<uint32_t>& chunks,
                         const std::vector<float>& scores) {
  Selection selected(ctx.LH);
  const auto [begin, end] = HeldCandidates(ctx, plan);
  for (auto& head : selected) {
    for (size_t i = 0; i < chunks.size() && head.size() < ctx.config.top_k; ++i) {
      if (chunks[i] >= begin && chunks[i] < end) head.push_back({scores[i], chunks[i]});
    }
  }
  if (!plan.empty) {
    for (size_t h = 0; h < ctx.LH; ++h) PrefetchSelected(ctx, selected[h], h);
  }
  return selected;
}

}  // namespace landmark
