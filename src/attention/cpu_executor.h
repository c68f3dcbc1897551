// The CPU executor: a query's planned items (the chunks this store holds of
// its selection, sinks and local term) attended with the Highway block
// kernel, one task per few items, and fused per kv head (fusion.h).
#pragma once

#include <tbb/enumerable_thread_specific.h>

#include <vector>

#include "src/kernels/kernels.h"
#include "src/attention/retrieval_plan.h"

namespace landmark {

class CpuExecutor {
 public:
  explicit CpuExecutor(const RetrievalContext& ctx) : ctx_(ctx) {}

  // The result without explanations; selected_lse as SelectedLse (explain.h).
  RetrievalResult Attend(const QueryPlan& plan, const RetrievalQuery& query, const Selection& selected,
                         std::vector<std::vector<float>>& selected_lse) const;
  // Attend, then Explain: one query's whole result.
  RetrievalResult Query(const QueryPlan& plan, const RetrievalQuery& query, const Selection& selected) const;

 private:
  const RetrievalContext& ctx_;
  mutable tbb::enumerable_thread_specific<SoftmaxAccumulator> accumulators_;
};

}  // namespace landmark
