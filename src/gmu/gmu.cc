#include "src/gmu/gmu.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "landmark/error.h"
#include "src/core/enum_names.h"
#include "src/io/safetensors.h"

namespace landmark {

constexpr EnumName<GmuVariant> kGmuVariantNames[] = {{GmuVariant::kSambaY, "sambay"}, {GmuVariant::kGatedMix, "gated-mix"}};

const char* Name(GmuVariant variant) { return NameIn(kGmuVariantNames, variant); }
GmuVariant ParseGmuVariant(const std::string& name) { return ParseIn(kGmuVariantNames, name, "GMU variant"); }

GatedMemoryUnit GatedMemoryUnit::Load(const SafeTensors& weights, const std::string& prefix, GmuVariant variant,
                                      size_t d, size_t d_m) {
  GatedMemoryUnit g;
  g.variant_ = variant;
  g.d_ = d;
  g.d_m_ = d_m;
  if (variant == GmuVariant::kSambaY) {
    g.in_ = LoadLinear(weights, prefix + "w_in", d_m, d);
  } else {
    g.in_ = LoadLinear(weights, prefix + "w_c", d_m, d);
    g.memory_ = LoadLinear(weights, prefix + "w_m", d_m, d_m);
    g.gate_ = LoadLinear(weights, prefix + "w_g", d_m, 2 * d_m);
  }
  g.out_ = LoadLinear(weights, prefix + "w_out", d, d_m);
  return g;
}

uint64_t GatedMemoryUnit::weight_bytes() const {
  return in_.weight_bytes() + out_.weight_bytes() +
         (variant_ == GmuVariant::kGatedMix ? memory_.weight_bytes() + gate_.weight_bytes() : 0);
}

void GatedMemoryUnit::Forward(const float* x, const float* m, size_t M, float* y, bool accumulate) const {
  LANDMARK_CHECK_ARG(d_ > 0, "GatedMemoryUnit: not loaded");
  std::vector<float> a(M * d_m_);
  in_.Forward(x, M, a.data());  // W_in x (sambay) or W_c x (gated-mix)
  if (variant_ == GmuVariant::kSambaY) {
    SiluGate(m, a.data(), M * d_m_, a.data());  // m ⊙ SiLU(W_in x)
  } else {
    std::vector<float> both(M * 2 * d_m_), g(M * d_m_);  // [W_c x; W_m m] per position
    std::vector<float> b(M * d_m_);
    memory_.Forward(m, M, b.data());
    for (size_t i = 0; i < M; ++i) {
      std::copy_n(&a[i * d_m_], d_m_, &both[i * 2 * d_m_]);
      std::copy_n(&b[i * d_m_], d_m_, &both[i * 2 * d_m_ + d_m_]);
    }
    gate_.Forward(both.data(), M, g.data());
    SigmoidMix(g.data(), a.data(), b.data(), M * d_m_, a.data());
    Silu(a.data(), M * d_m_);
  }
  out_.Forward(a.data(), M, y, accumulate);
}

}  // namespace landmark
