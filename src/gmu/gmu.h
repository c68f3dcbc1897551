// Gated Memory Unit (SambaY, arXiv 2507.06607; docs/design.md "GMU").
//   sambay:    y = W_out · (m ⊙ SiLU(W_in · x))
//   gated-mix: g = σ(W_g · [W_c x; W_m m]),  y = W_out · SiLU(g ⊙ W_c x + (1−g) ⊙ W_m m)
// x is the block's pre-normed hidden state [d], m the memory [d_m] produced
// by an earlier layer. A decode step reads only the GMU's weights and m:
// O(d·d_m) bytes, independent of the context length N.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "src/nn/nn.h"

namespace landmark {

class SafeTensors;

enum class GmuVariant : uint8_t { kSambaY, kGatedMix };
const char* Name(GmuVariant variant);                // "sambay" | "gated-mix"
GmuVariant ParseGmuVariant(const std::string& name);  // throws landmark::Error

class GatedMemoryUnit {
 public:
  GatedMemoryUnit() = default;
  // Tensors `<prefix>w_in` [d_m, d] and `<prefix>w_out` [d, d_m] (sambay), or
  // `<prefix>w_c` [d_m, d], `<prefix>w_m` [d_m, d_m], `<prefix>w_g` [d_m, 2·d_m]
  // and `<prefix>w_out` [d, d_m] (gated-mix); f32 or bf16. Throws naming the
  // missing or mis-shaped tensor.
  static GatedMemoryUnit Load(const SafeTensors& weights, const std::string& prefix, GmuVariant variant,
                              size_t d, size_t d_m);

  GmuVariant variant() const { return variant_; }
  size_t d() const { return d_; }
  size_t d_memory() const { return d_m_; }
  uint64_t weight_bytes() const;

  // y[M][d] (+)= GMU(x[M][d], m[M][d_m]) for M positions at once.
  void Forward(const float* x, const float* m, size_t M, float* y, bool accumulate = false) const;

 private:
  GmuVariant variant_ = GmuVariant::kSambaY;
  size_t d_ = 0, d_m_ = 0;
  Linear in_, out_;        // sambay: W_in, W_out; gated-mix: W_c, W_out
  Linear memory_, gate_;   // gated-mix: W_m, W_g
};

}  // namespace landmark
