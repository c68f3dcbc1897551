#include "src/gmu/gmu.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "landmark/error.h"
#include "src/core/enum_names.h"
#include "src/io/safetensors.h"
#include "src/nn/rows.h"

namespace landmark {
namespace {

constexpr EnumName<GmuVariant> kGmuVariantNames[] = {{GmuVariant::kSambaY, "sambay"}, {GmuVariant::kGatedMix, "gated-mix"}};

}  // namespace

const char* Name(GmuVariant variant) { return NameIn(kGmuVariantNames, variant); }
GmuVariant ParseGmuVariant(const std::string& name) { return ParseIn(kGmuVariantNames, name, "GMU variant"); }

std::vector<TensorSpec> GatedMemoryUnit::Tensors(const std::string& prefix, GmuVariant variant, size_t d,
                                                 size_t d_m) {
  std::vector<TensorSpec> specs = {{prefix + "gmu_norm", {d}, Init::kNorm}};
  if (variant == GmuVariant::kSambaY) {
    specs.push_back({prefix + "gmu_win", {d_m, d}});
  } else {
    specs.push_back({prefix + "gmu_wc", {d_m, d}});
    specs.push_back({prefix + "gmu_wm", {d_m, d_m}});
    specs.push_back({prefix + "gmu_wg", {d_m, 2 * d_m}});
  }
  specs.push_back({prefix + "gmu_wout", {d, d_m}});
  return specs;
}

GatedMemoryUnit GatedMemoryUnit::Load(const SafeTensors& weights, const std::string& prefix, GmuVariant variant,
                                      size_t d, size_t d_m, float norm_eps) {
  const std::vector<TensorSpec> specs = Tensors(prefix, variant, d, d_m);
  auto linear = [&](size_t i) { return LoadLinear(weights, specs[i].name, specs[i].shape[0], specs[i].shape[1]); };
  GatedMemoryUnit g;
  g.variant_ = variant;
  g.d_ = d;
  g.d_m_ = d_m;
  g.eps_ = norm_eps;
  g.norm_ = LoadVector(weights, specs[0].name, d);
  g.in_ = linear(1);
  if (variant == GmuVariant::kGatedMix) {
    g.memory_ = linear(2);
    g.gate_ = linear(3);
  }
  g.out_ = linear(specs.size() - 1);
  return g;
}

uint64_t GatedMemoryUnit::weight_bytes() const {
  return norm_.size() * sizeof(float) + in_.weight_bytes() + out_.weight_bytes() +
         (variant_ == GmuVariant::kGatedMix ? memory_.weight_bytes() + gate_.weight_bytes() : 0);
}

void GatedMemoryUnit::Forward(const float* x, const float* m, size_t M, float* y, bool accumulate) const {
  LANDMARK_CHECK_ARG(d_ > 0, "GatedMemoryUnit: not loaded");
  std::vector<float> u(M * d_), a(M * d_m_);
  RmsNormRows(x, norm_, M, d_, d_, eps_, u.data());
  in_.Forward(u.data(), M, a.data());  // W_in u (sambay) or W_c u (gated-mix)
  if (variant_ == GmuVariant::kSambaY) {
    ForRows(M, [&](size_t begin, size_t end) {  // m ⊙ SiLU(W_in u)
      SiluGate(m + begin * d_m_, &a[begin * d_m_], (end - begin) * d_m_, &a[begin * d_m_]);
    });
  } else {
    std::vector<float> both(M * 2 * d_m_), g(M * d_m_);  // [W_c u; W_m m] per position
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
