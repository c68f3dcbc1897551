// The feed-forward layer with its pre-norm, one implementation for the byte
// model (GELU, docs/model.md "MLP"), the cross-decoder and the pretrained
// LLMs (SwiGLU, as Llama, Qwen and Mistral):
//   u = RMSNorm(x)
//   gelu:   y = W_2 · gelu_tanh(W_1 u)
//   swiglu: y = W_2 · (SiLU(W_1 u) ⊙ W_3 u)
// W_1, W_3 [F, D], W_2 [D, F]; in Hugging Face's names W_1 = gate_proj,
// W_3 = up_proj, W_2 = down_proj (Meta's Llama names them w1, w3, w2 too).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "src/nn/nn.h"

namespace landmark {

class SafeTensors;

enum class MlpActivation : uint8_t { kGelu, kSwiGlu };

// Rows a Mlp reuses between calls (grown to the largest M).
struct MlpScratch {
  std::vector<float> u, h, up;
};

class Mlp {
 public:
  Mlp() = default;
  // w3 only for SwiGLU. The Linears may borrow mapped weights.
  Mlp(MlpActivation activation, std::vector<float> norm, float norm_eps, Linear w1, Linear w2, Linear w3 = {});

  // `<prefix>mlp_norm` [D], `<prefix>w1` [F, D], `<prefix>w2` [D, F], and for
  // SwiGLU `<prefix>w3` [F, D].
  static std::vector<TensorSpec> Tensors(const std::string& prefix, MlpActivation activation, size_t D, size_t F);
  static Mlp Load(const SafeTensors& weights, const std::string& prefix, MlpActivation activation, size_t D, size_t F,
                  float norm_eps);

  size_t d_model() const { return w2_.out(); }
  size_t hidden() const { return w1_.out(); }
  uint64_t matrix_bytes() const { return w1_.weight_bytes() + w2_.weight_bytes() + w3_.weight_bytes(); }
  uint64_t weight_bytes() const { return matrix_bytes() + norm_.size() * sizeof(float); }
  bool borrowed() const { return w1_.borrowed() && w2_.borrowed() && (w3_.out() == 0 || w3_.borrowed()); }

  // y[M][D] (+)= MLP(x[M][D]). y may equal x (x is read only by the norm).
  void Forward(const float* x, size_t M, float* y, bool accumulate, MlpScratch& scratch) const;

 private:
  MlpActivation activation_ = MlpActivation::kGelu;
  std::vector<float> norm_;
  float eps_ = 1e-6f;
  Linear w1_, w2_, w3_;
};

}  // namespace landmark
