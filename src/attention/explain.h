// Why each chunk was chosen (RetrievalResult::selections): the selection's
// chunks and scores, with hsa weights w_i or, for joint fusion, each chunk's
// share exp(lse_i − LSE) of the softmax, averaged over the heads it served.
#pragma once

#include <cstddef>
#include <vector>

#include "landmark/retriever.h"
#include "src/attention/retrieval_plan.h"

namespace landmark {

// Per selection head: [selected][served kv heads][G] log-sum-exps of the
// chosen chunks attended here (-inf: not here), from the items' lses
// [items][G] (served: 1, or every kv head when one selection serves them all).
std::vector<std::vector<float>> SelectedLse(const RetrievalContext& ctx, const Selection& selected,
                                            const PlanItems& items, const float* lses);

// The same from a flat [kv head][ForEachItem] lse list of one query whose
// selection is held whole (no shard): item_lse [items][G].
std::vector<std::vector<float>> SelectedLse(const RetrievalContext& ctx, const Selection& selected,
                                            const QueryPlan& plan, const float* item_lse);

// Fills result.selections (result.lse holds the joint totals).
void Explain(const RetrievalContext& ctx, const Selection& selected,
             const std::vector<std::vector<float>>& selected_lse, RetrievalResult& result);

}  // namespace landmark
