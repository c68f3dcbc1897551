// Causal sliding-window attention over a segment: the dense causal kernel
// with a window (CausalPrefill, as the LLMs' sliding-window layers use it).
//
// The segment's M queries continue a cache of c ≤ W−1 earlier positions:
// the span is c + M keys, rotated by RoPE relative to the span's start (the
// scores depend only on differences, so angles stay small at 16M tokens).
// Query i of the span sees keys [i−W+1, i].
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "src/kernels/dense_attention.h"
#include "src/kernels/kernels.h"
#include "src/model/layers.h"

namespace landmark::model {
namespace {

// cos and sin of p·θ^(−2i/d) for p < positions, [p][d/2] each (angles in
// double, as the model was trained, rounded to f32 once).
void RopeTable(const ModelConfig& c, size_t positions, Workspace& ws) {
  const size_t d = c.head_dim, half = d / 2;
  if (ws.rope_positions >= positions) return;
  ws.rope_cos.resize(positions * half);
  ws.rope_sin.resize(positions * half);
  for (size_t p = 0; p < positions; ++p) {
    for (size_t i = 0; i < half; ++i) {
      const double angle = double(p) * std::pow(c.rope_theta, -2.0 * double(i) / double(d));
      ws.rope_cos[p * half + i] = float(std::cos(angle));
      ws.rope_sin[p * half + i] = float(std::sin(angle));
    }
  }
  ws.rope_positions = positions;
}

// out row t [D] = RoPE(in row t) at position first + t, every head (the
// rotate-half kernel).
void Rope(const ModelConfig& c, const Workspace& ws, const float* in, size_t in_stride, size_t rows, size_t first,
          float* out) {
  const size_t d = c.head_dim, H = c.heads;
  std::vector<int64_t> positions(H);
  for (size_t t = 0; t < rows; ++t) {
    positions.assign(H, int64_t(first + t));
    RotateHalf(in + t * in_stride, DType::kF32, H, d, d, ws.rope_cos.data(), ws.rope_sin.data(), positions.data(),
               out + t * c.d_model, d);
  }
}

}  // namespace

void SwaForward(const Model::Impl& m, const SwaMlpWeights& w, SwaCache& cache, float* x, size_t M,
                Workspace& ws) {
  const ModelConfig& c = m.config;
  const size_t D = c.d_model, H = c.heads, d = c.head_dim, W = c.window;
  const size_t past = cache.tokens, T = past + M;
  ws.a.resize(M * D);
  ws.qkv.resize(M * 3 * D);
  RmsNormRows(x, w.attn_norm, M, D, D, float(c.norm_eps), ws.a.data());
  w.wqkv.Forward(ws.a.data(), M, ws.qkv.data());

  // The span's keys (unrotated, kept for the cache) and values; q and the
  // keys rotated.
  ws.k_span.resize(T * D);
  ws.v_span.resize(T * D);
  std::copy_n(cache.k.data(), past * D, ws.k_span.data());
  std::copy_n(cache.v.data(), past * D, ws.v_span.data());
  RopeTable(c, T, ws);
  ws.k_rot.resize(T * D);
  ws.q_rot.resize(M * D);
  ForRows(M, [&](size_t begin, size_t end) {
    for (size_t t = begin; t < end; ++t) {
      std::copy_n(&ws.qkv[t * 3 * D + D], D, &ws.k_span[(past + t) * D]);
      std::copy_n(&ws.qkv[t * 3 * D + 2 * D], D, &ws.v_span[(past + t) * D]);
    }
    Rope(c, ws, ws.qkv.data() + begin * 3 * D, 3 * D, end - begin, past + begin, ws.q_rot.data() + begin * D);
  });
  ForRows(T, [&](size_t begin, size_t end) {
    Rope(c, ws, ws.k_span.data() + begin * D, D, end - begin, begin, ws.k_rot.data() + begin * D);
  });

  ws.o.resize(M * D);
  PrefillOptions options;
  options.past_tokens = past;
  options.window = W;
  CausalPrefill(ws.q_rot.data(), H, KVSequence::TokenMajor(ws.k_rot.data(), ws.v_span.data(), DType::kF32, T, H, d),
                ws.o.data(), nullptr, options);
  w.wo.Forward(ws.o.data(), M, x, /*accumulate=*/true);

  const size_t keep = std::min(W - 1, T);
  cache.k.assign(ws.k_span.end() - keep * D, ws.k_span.end());
  cache.v.assign(ws.v_span.end() - keep * D, ws.v_span.end());
  cache.tokens = keep;
}

void MlpForward(const Model::Impl&, const SwaMlpWeights& w, float* x, size_t M, Workspace& ws) {
  w.mlp.Forward(x, M, x, /*accumulate=*/true, ws.mlp);
}

}  // namespace landmark::model
