// Fusion of partial attention results (docs/design.md, "Fusion modes"), the
// one place the engine's executors and the sharded merge take it from:
//   joint: the LSE merge of every part — one softmax over all that was
//          attended (out, lse);
//   hsa:   out = Σ_i w_i·o_i over the retrieval parts, with w = softmax of
//          the selection's scores or stick-breaking (HsaWeights); the local
//          parts LSE-merged apart (local_out, local_lse).
// The GPU applies the same rules in its merge kernel (src/cuda/decode.cu),
// with the weights from HsaWeights.
#pragma once

#include <cstddef>
#include <vector>

#include "landmark/retriever.h"
#include "src/attention/top_k.h"

namespace landmark {

// w_i of the selected chunks (best first), in their order.
std::vector<float> HsaWeights(const std::vector<ScoredChunk>& chosen, RetrievalWeights weights);

// Where one kv head's G fused rows go ([G][d] and [G]; unused ones nullptr).
struct FusedRows {
  float* out = nullptr;
  float* lse = nullptr;        // joint
  float* local_out = nullptr;  // hsa
  float* local_lse = nullptr;  // hsa
};

// Kv head h's G rows of a result (joint: out, lse; hsa: out, local_out, local_lse).
FusedRows HeadRows(RetrievalResult& result, size_t h, size_t G, size_t d);

// Fuses `parts` partial results of one kv head's G rows, outs [parts][G][d]
// and lses [parts][G]; the first `retrieval` are the retrieval parts, with
// hsa weights [retrieval][G].
void FuseParts(Fusion fusion, const float* outs, const float* lses, size_t parts, size_t retrieval,
               const float* weights, size_t G, size_t d, const FusedRows& dst);

}  // namespace landmark
