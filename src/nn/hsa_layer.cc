#include "src/nn/hsa_layer.h"

#include <algorithm>
#include <cstdint>

#include "landmark/error.h"
#include "src/io/safetensors.h"
#include "src/nn/rows.h"

namespace landmark {

std::vector<TensorSpec> HsaLayer::Tensors(const std::string& prefix, const HsaShape& s) {
  const size_t D = s.d_model, A = s.d_attention();
  std::vector<TensorSpec> specs = {{prefix + "hsa_norm", {D}, Init::kNorm}};
  if (s.learned_query) {
    specs.push_back({prefix + "hsa_r_norm", {A}, Init::kNorm});
    specs.push_back({prefix + "hsa_wr", {A, D}});
  }
  specs.push_back({prefix + "hsa_wq", {A, D}});
  specs.push_back({prefix + "hsa_wo", {D, A}});
  return specs;
}

HsaLayer HsaLayer::Load(const SafeTensors& weights, const std::string& prefix, const HsaShape& shape) {
  const std::vector<TensorSpec> specs = Tensors(prefix, shape);
  const size_t D = shape.d_model, A = shape.d_attention();
  HsaLayer l;
  l.shape_ = shape;
  l.norm_ = LoadVector(weights, specs[0].name, D);
  if (shape.learned_query) {
    l.r_norm_ = LoadVector(weights, specs[1].name, A);
    l.w_rq_ = LoadStackedLinear(weights, {specs[2].name, specs[3].name}, A, D);
  } else {
    l.w_rq_ = LoadLinear(weights, specs[1].name, A, D);
  }
  l.w_o_ = LoadLinear(weights, specs.back().name, D, A);
  return l;
}

uint64_t HsaLayer::weight_bytes() const {
  return (norm_.size() + r_norm_.size()) * sizeof(float) + w_rq_.weight_bytes() + w_o_.weight_bytes();
}

std::vector<RetrievalResult> HsaLayer::Forward(const Retriever& retriever, const float* x, size_t M,
                                               const size_t* positions, bool past_store, float* a, float* y,
                                               bool accumulate) const {
  LANDMARK_CHECK_ARG(!norm_.empty(), "HsaLayer: not loaded");
  const size_t D = shape_.d_model, A = shape_.d_attention(), rows = w_rq_.out();  // rows: A or 2A ([r; q])
  const bool learned = shape_.learned_query;
  std::vector<float> u(M * D), rq(M * rows), r(learned ? M * A : 0);
  RmsNormRows(x, norm_, M, D, D, shape_.norm_eps, u.data());
  w_rq_.Forward(u.data(), M, rq.data());
  std::vector<RetrievalQuery> queries(M);
  for (size_t t = 0; t < M; ++t) {
    const float* row = &rq[t * rows];
    if (learned) RmsNorm(row, r_norm_.data(), 1, A, shape_.head_dim, shape_.norm_eps, &r[t * A]);
    queries[t] = RetrievalQuery{learned ? row + A : row, learned ? &r[t * A] : nullptr,
                                positions ? positions[t] : kLastPosition, past_store};
  }
  std::vector<RetrievalResult> results = retriever.QueryBatch(queries);
  for (size_t t = 0; t < M; ++t) std::copy_n(results[t].out.data(), A, a + t * A);
  w_o_.Forward(a, M, y, accumulate);
  return results;
}

}  // namespace landmark
