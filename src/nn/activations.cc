// Element-wise parts of the model layers: RMSNorm, SiLU, GELU, the GMU gate.

#include <cmath>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/nn/activations.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "src/nn/nn.h"

HWY_BEFORE_NAMESPACE();
namespace landmark {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Applies `vector_op` to whole vectors and `scalar_op` to the tail, so every
// element-wise kernel below is written once.
template <class VectorOp, class ScalarOp>
HWY_INLINE void ForEachLane(size_t n, const VectorOp& vector_op, const ScalarOp& scalar_op) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  for (; i + N <= n; i += N) vector_op(df, i);
  for (; i < n; ++i) scalar_op(i);
}

// σ(x) = 1 / (1 + e^-x); the clamp keeps Exp in range (σ is 0 or 1 there).
template <class D, class V>
HWY_INLINE V SigmoidV(D d, V x) {
  const V e = hn::Exp(d, hn::Neg(hn::Min(hn::Max(x, hn::Set(d, -80.0f)), hn::Set(d, 80.0f))));
  return hn::Div(hn::Set(d, 1.0f), hn::Add(hn::Set(d, 1.0f), e));
}
inline float SigmoidS(float x) { return 1.0f / (1.0f + std::exp(-std::fmin(std::fmax(x, -80.0f), 80.0f))); }

template <class D, class V>
HWY_INLINE V SiluV(D d, V x) {
  return hn::Mul(x, SigmoidV(d, x));
}
inline float SiluS(float x) { return x * SigmoidS(x); }

// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
constexpr float kGeluC = 0.7978845608028654f, kGeluA = 0.044715f;
template <class D, class V>
HWY_INLINE V GeluV(D d, V x) {
  const V x3 = hn::Mul(hn::Mul(x, x), x);
  const V inner = hn::Mul(hn::Set(d, kGeluC), hn::MulAdd(hn::Set(d, kGeluA), x3, x));
  const V t = hn::Tanh(d, hn::Min(hn::Max(inner, hn::Set(d, -10.0f)), hn::Set(d, 10.0f)));
  return hn::Mul(hn::Mul(hn::Set(d, 0.5f), x), hn::Add(hn::Set(d, 1.0f), t));
}
inline float GeluS(float x) {
  return 0.5f * x * (1.0f + std::tanh(kGeluC * (x + kGeluA * x * x * x)));
}

void Silu(float* HWY_RESTRICT x, size_t n) {
  ForEachLane(
      n, [&](auto d, size_t i) { hn::StoreU(SiluV(d, hn::LoadU(d, x + i)), d, x + i); },
      [&](size_t i) { x[i] = SiluS(x[i]); });
}

void Gelu(float* HWY_RESTRICT x, size_t n) {
  ForEachLane(
      n, [&](auto d, size_t i) { hn::StoreU(GeluV(d, hn::LoadU(d, x + i)), d, x + i); },
      [&](size_t i) { x[i] = GeluS(x[i]); });
}

void SiluGate(const float* m, const float* a, size_t n, float* y) {
  ForEachLane(
      n,
      [&](auto d, size_t i) {
        hn::StoreU(hn::Mul(hn::LoadU(d, m + i), SiluV(d, hn::LoadU(d, a + i))), d, y + i);
      },
      [&](size_t i) { y[i] = m[i] * SiluS(a[i]); });
}

void SigmoidMix(const float* g, const float* a, const float* b, size_t n, float* y) {
  ForEachLane(
      n,
      [&](auto d, size_t i) {
        const auto vg = hn::LoadU(d, g + i), va = hn::LoadU(d, a + i), vb = hn::LoadU(d, b + i);
        hn::StoreU(hn::MulAdd(SigmoidV(d, vg), hn::Sub(va, vb), vb), d, y + i);
      },
      [&](size_t i) {
        y[i] = b[i] + SigmoidS(g[i]) * (a[i] - b[i]);
      });
}

void AddInPlace(float* HWY_RESTRICT y, const float* HWY_RESTRICT x, size_t n) {
  ForEachLane(
      n, [&](auto d, size_t i) { hn::StoreU(hn::Add(hn::LoadU(d, y + i), hn::LoadU(d, x + i)), d, y + i); },
      [&](size_t i) { y[i] += x[i]; });
}

void RmsNorm(const float* x, const float* weight, size_t rows, size_t d, size_t group, float eps,
             float* y) {
  for (size_t r = 0; r < rows; ++r) {
    for (size_t g = 0; g < d; g += group) {
      const float* xg = x + r * d + g;
      float* yg = y + r * d + g;
      const float* wg = weight + g;
      const hn::ScalableTag<float> df;
      auto sum = hn::Zero(df);
      float tail = 0;
      ForEachLane(
          group, [&](auto dd, size_t i) { const auto v = hn::LoadU(dd, xg + i); sum = hn::MulAdd(v, v, sum); },
          [&](size_t i) { tail += xg[i] * xg[i]; });
      const float squares = hn::GetLane(hn::SumOfLanes(df, sum)) + tail;
      const float inv = 1.0f / std::sqrt(squares / float(group) + eps);
      ForEachLane(
          group,
          [&](auto dd, size_t i) {
            hn::StoreU(hn::Mul(hn::Mul(hn::LoadU(dd, xg + i), hn::Set(dd, inv)), hn::LoadU(dd, wg + i)), dd,
                       yg + i);
          },
          [&](size_t i) { yg[i] = xg[i] * inv * wg[i]; });
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace landmark
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "landmark/error.h"

namespace landmark {

HWY_EXPORT(Silu);
HWY_EXPORT(Gelu);
HWY_EXPORT(SiluGate);
HWY_EXPORT(AddInPlace);
HWY_EXPORT(SigmoidMix);
HWY_EXPORT(RmsNorm);

void Silu(float* x, size_t n) { HWY_DYNAMIC_DISPATCH(Silu)(x, n); }
void Gelu(float* x, size_t n) { HWY_DYNAMIC_DISPATCH(Gelu)(x, n); }
void SiluGate(const float* m, const float* a, size_t n, float* y) {
  HWY_DYNAMIC_DISPATCH(SiluGate)(m, a, n, y);
}
void AddInPlace(float* y, const float* x, size_t n) { HWY_DYNAMIC_DISPATCH(AddInPlace)(y, x, n); }
void SigmoidMix(const float* g, const float* a, const float* b, size_t n, float* y) {
  HWY_DYNAMIC_DISPATCH(SigmoidMix)(g, a, b, n, y);
}
void RmsNorm(const float* x, const float* weight, size_t rows, size_t d, size_t group, float eps,
             float* y) {
  LANDMARK_CHECK_ARG(group > 0 && d % group == 0, "RmsNorm: the group must divide the row width");
  HWY_DYNAMIC_DISPATCH(RmsNorm)(x, weight, rows, d, group, eps, y);
}

}  // namespace landmark
#endif  // HWY_ONCE
