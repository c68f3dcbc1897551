// Selection on the CPU (docs/design.md, "Scoring and selection"): the
// landmark scores of a query's held candidates and the top-k per selection
// head, ties to the lower chunk id; the selected chunks are prefetched as
// soon as their head's selection is known.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "src/attention/landmark_scores.h"
#include "src/attention/retrieval_plan.h"

namespace landmark {

// Wall times of SelectTopK's two steps (LANDMARK_CPU_PROFILE).
struct SelectTimes {
  double score_ms = 0;   // the scoring fork-join (every thread)
  double choose_ms = 0;  // thresholds, then a task per head keeps and picks
};

// One query, r [LH][R]: every core scores a range of the candidates (every
// head in one pass); a threshold per head from a sample of all the scores
// keeps the few that can be among the k best, and the k best of those are
// chosen, a head per task (src/attention/top_k.h). `times`: where to put
// the steps' wall times (nullptr: the clock is not read).
Selection SelectTopK(const RetrievalContext& ctx, const LandmarkScorer& scorer, const QueryPlan& plan,
                     const float* r, SelectTimes* times = nullptr);

// M queries, r [M][LH][R]: one GEMM per landmark tile scores all of them
// (config.batch_gemm_min or more, landmarks that support it), else one by
// one; the same selections either way.
std::vector<Selection> SelectBatch(const RetrievalContext& ctx, const LandmarkScorer& scorer,
                                   const std::vector<QueryPlan>& plans, const std::vector<float>& r);

// Chunks chosen elsewhere (best first, with their scores) as the selection
// of every selection head: the held candidates only, at most top_k.
Selection GivenSelection(const RetrievalContext& ctx, const QueryPlan& plan, const std::vector<uint32_t>& chunks,
                         const std::vector<float>& scores);

}  // namespace landmark
