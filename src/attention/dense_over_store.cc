#include "src/attention/dense_over_store.h"

#include <algorithm>

#include "landmark/retriever.h"

namespace landmark {

void DenseDecodeOverStore(const StoreReader& store, const float* q, size_t q_heads, float* out, float* lse) {
  // Joint fusion selecting every candidate is dense attention (tested).
  RetrieverConfig config;
  config.q_heads = q_heads;
  config.top_k = std::max<size_t>(1, store.chunks());
  config.prefetch = false;
  const RetrievalResult r = Retriever(store, config).Query({q, nullptr, kLastPosition});
  std::copy(r.out.begin(), r.out.end(), out);
  if (lse) std::copy(r.lse.begin(), r.lse.end(), lse);
}

}  // namespace landmark
