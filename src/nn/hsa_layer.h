// The HSA layer (Hierarchical Sparse Attention, arXiv 2511.23319) over a
// chunk store, with its pre-norm: one implementation for the byte model's
// hsa blocks (docs/model.md "HSA") and the cross-decoder's hsa layers
// (docs/gmu.md). For hidden states x [D] at positions p:
//   u = RMSNorm(x);  q = W_q u  [H_q·d]
//   r = perhead_RMSNorm_r(W_r u)  with a learned retrieval query (the byte
//       model), else the Retriever's mean of each group's queries
//   a = Retrieve(q, r; p)  [H_q·d]: top-k chunks by landmark, fused
//   y = W_o a  [D]
// a is the memory a GMU layer gates with in the cross-decoder; the byte
// model's GMU blocks read y instead (docs/model.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "landmark/retriever.h"
#include "src/nn/nn.h"

namespace landmark {

class SafeTensors;

struct HsaShape {
  size_t d_model = 0;   // D
  size_t q_heads = 0;   // H_q
  size_t head_dim = 0;  // d
  bool learned_query = false;  // W_r and its per-head norm (r of H_q heads × d)
  float norm_eps = 1e-6f;
  size_t d_attention() const { return q_heads * head_dim; }
};

class HsaLayer {
 public:
  HsaLayer() = default;
  // `<prefix>hsa_norm` [D], `hsa_wq` [H_q·d, D], `hsa_wo` [D, H_q·d]; with a
  // learned query also `hsa_r_norm` [H_q·d] and `hsa_wr` [H_q·d, D].
  static std::vector<TensorSpec> Tensors(const std::string& prefix, const HsaShape& shape);
  // Throws naming the missing, mis-shaped or non-finite tensor.
  static HsaLayer Load(const SafeTensors& weights, const std::string& prefix, const HsaShape& shape);

  const HsaShape& shape() const { return shape_; }
  uint64_t weight_bytes() const;  // the matrices and the norms

  // M positions at once: position i is positions[i] (nullptr: every one at
  // the store's end, kLastPosition), past_store as RetrievalQuery's. Writes
  // a [M][H_q·d] and y [M][D] (+)= W_o a; returns the Retriever's results
  // (chunks chosen, bytes touched). y may equal x; a must not overlap them.
  std::vector<RetrievalResult> Forward(const Retriever& retriever, const float* x, size_t M, const size_t* positions,
                                       bool past_store, float* a, float* y, bool accumulate = false) const;

 private:
  HsaShape shape_;
  std::vector<float> norm_, r_norm_;  // [D], [H_q·d] (learned query)
  Linear w_rq_;                       // [W_r; W_q] stacked (one matmul), or W_q alone
  Linear w_o_;
};

}  // namespace landmark
