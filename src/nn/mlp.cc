#include "src/nn/mlp.h"

#include <cstdint>
#include <utility>

#include "landmark/error.h"
#include "src/nn/rows.h"

namespace landmark {

Mlp::Mlp(MlpActivation activation, std::vector<float> norm, float norm_eps, Linear w1, Linear w2, Linear w3)
    : activation_(activation), norm_(std::move(norm)), eps_(norm_eps), w1_(std::move(w1)), w2_(std::move(w2)),
      w3_(std::move(w3)) {
  const size_t D = w2_.out(), F = w1_.out();
  LANDMARK_CHECK_ARG(norm_.size() == D && w1_.in() == D && w2_.in() == F, "Mlp: inconsistent shapes");
  LANDMARK_CHECK_ARG(activation_ == MlpActivation::kGelu ? w3_.out() == 0 : w3_.out() == F && w3_.in() == D,
                     "Mlp: W_3 is SwiGLU's, [F, D]");
}

std::vector<TensorSpec> Mlp::Tensors(const std::string& prefix, MlpActivation activation, size_t D, size_t F) {
  std::vector<TensorSpec> specs = {{prefix + "mlp_norm", {D}, Init::kNorm}, {prefix + "w1", {F, D}},
                                   {prefix + "w2", {D, F}}};
  if (activation == MlpActivation::kSwiGlu) specs.push_back({prefix + "w3", {F, D}});
  return specs;
}

Mlp Mlp::Load(const SafeTensors& weights, const std::string& prefix, MlpActivation activation, size_t D, size_t F,
              float norm_eps) {
  const std::vector<TensorSpec> specs = Tensors(prefix, activation, D, F);
  return Mlp(activation, LoadVector(weights, specs[0].name, D), norm_eps, LoadLinear(weights, specs[1].name, F, D),
             LoadLinear(weights, specs[2].name, D, F),
             activation == MlpActivation::kSwiGlu ? LoadLinear(weights, specs[3].name, F, D) : Linear());
}

void Mlp::Forward(const float* x, size_t M, float* y, bool accumulate, MlpScratch& s) const {
  LANDMARK_CHECK_ARG(!norm_.empty(), "Mlp: not loaded");
  const size_t D = d_model(), F = hidden();
  s.u.resize(M * D);
  s.h.resize(M * F);
  RmsNormRows(x, norm_, M, D, D, eps_, s.u.data());
  w1_.Forward(s.u.data(), M, s.h.data());
  float* h = s.h.data();
  if (activation_ == MlpActivation::kGelu) {
    ForRows(M, [&](size_t begin, size_t end) { Gelu(h + begin * F, (end - begin) * F); });
  } else {
    s.up.resize(M * F);
    float* up = s.up.data();
    w3_.Forward(s.u.data(), M, up);
    ForRows(M, [&](size_t begin, size_t end) {  // SiLU(W_1 u) ⊙ W_3 u
      SiluGate(up + begin * F, h + begin * F, (end - begin) * F, h + begin * F);
    });
  }
  w2_.Forward(h, M, y, accumulate);
}

}  // namespace landmark
