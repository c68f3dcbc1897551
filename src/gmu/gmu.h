// Gated Memory Unit (SambaY, arXiv 2507.06607; docs/design.md "GMU"), with
// its pre-norm, as a layer of the byte model (docs/model.md) and of the
// cross-decoder (docs/gmu.md):
//   u = RMSNorm(x)
//   sambay:    y = W_out · (m ⊙ SiLU(W_in · u))
//   gated-mix: g = σ(W_g · [W_c u; W_m m]),  y = W_out · SiLU(g ⊙ W_c u + (1−g) ⊙ W_m m)
// x is the block's hidden state [d], m the memory [d_m] produced by an
// earlier HSA layer. A decode step reads only the GMU's weights and m:
// O(d·d_m) bytes, independent of the context length N.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "src/nn/nn.h"

namespace landmark {

class SafeTensors;

enum class GmuVariant : uint8_t { kSambaY, kGatedMix };
const char* Name(GmuVariant variant);                // "sambay" | "gated-mix"
GmuVariant ParseGmuVariant(const std::string& name);  // throws landmark::Error

class GatedMemoryUnit {
 public:
  GatedMemoryUnit() = default;
  // The tensors (the byte model's names): `<prefix>gmu_norm` [d]; sambay:
  // `gmu_win` [d_m, d], `gmu_wout` [d, d_m]; gated-mix: `gmu_wc` [d_m, d],
  // `gmu_wm` [d_m, d_m], `gmu_wg` [d_m, 2·d_m], `gmu_wout` [d, d_m].
  static std::vector<TensorSpec> Tensors(const std::string& prefix, GmuVariant variant, size_t d, size_t d_m);
  // Those tensors, f32, bf16 or f16 (LoadStackedLinear's dtypes). Throws
  // naming the missing, mis-shaped or non-finite tensor.
  static GatedMemoryUnit Load(const SafeTensors& weights, const std::string& prefix, GmuVariant variant, size_t d,
                              size_t d_m, float norm_eps);

  GmuVariant variant() const { return variant_; }
  size_t d() const { return d_; }
  size_t d_memory() const { return d_m_; }
  uint64_t weight_bytes() const;  // the matrices and the norm

  // y[M][d] (+)= GMU(x[M][d], m[M][d_m]) for M positions at once. y may
  // equal x (x is read only by the norm, before y is written).
  void Forward(const float* x, const float* m, size_t M, float* y, bool accumulate = false) const;

 private:
  GmuVariant variant_ = GmuVariant::kSambaY;
  size_t d_ = 0, d_m_ = 0;
  float eps_ = 1e-6f;
  std::vector<float> norm_;  // [d]
  Linear in_, out_;          // sambay: W_in, W_out; gated-mix: W_c, W_out
  Linear memory_, gate_;     // gated-mix: W_m, W_g
};

}  // namespace landmark
