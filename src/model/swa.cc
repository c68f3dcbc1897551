// Causal sliding-window attention over a segment with the block kernel.
//
// The segment's M queries continue a cache of c ≤ W−1 earlier positions:
// the span is c + M keys, rotated by RoPE relative to the span's start (the
// scores depend only on differences). Queries go in blocks of B ≤ W: query i
// of a block starting at span position a sees keys [a+i−W+1, a+i], which
// splits into the block's own keys [a, a+i] (a prefix: AttendBlock's
// `visible`) and earlier keys [a+i−W+1, a) (a suffix) — read from a reversed
// copy of the span, where it becomes a prefix too.
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "src/kernels/kernels.h"
#include "src/model/layers.h"

namespace landmark::model {
namespace {

constexpr size_t kQueryBlock = 64;

struct AttendScratch {
  QueryBlock queries;
  SoftmaxAccumulator acc;
  std::vector<uint32_t> before, own;
};

// cos and sin of p·θ^(−2i/d) for p < positions: rope[p][0..d/2) cos, [d/2..d) sin.
const float* RopeTable(const ModelConfig& c, size_t positions, Workspace& ws) {
  const size_t d = c.head_dim, half = d / 2;
  if (ws.rope_positions < positions) {
    ws.rope.resize(positions * d);
    for (size_t p = 0; p < positions; ++p) {
      for (size_t i = 0; i < half; ++i) {
        const double angle = double(p) * std::pow(c.rope_theta, -2.0 * double(i) / double(d));
        ws.rope[p * d + i] = float(std::cos(angle));
        ws.rope[p * d + half + i] = float(std::sin(angle));
      }
    }
    ws.rope_positions = positions;
  }
  return ws.rope.data();
}

// out row t = RoPE(in row t) at position first + t, every head (rotate-half form).
void Rope(const ModelConfig& c, const float* rope, const float* in, size_t in_stride, size_t rows, size_t first,
          float* out) {
  const size_t d = c.head_dim, half = d / 2, D = c.d_model;
  for (size_t t = 0; t < rows; ++t) {
    const float* cs = rope + (first + t) * d;
    for (size_t h = 0; h < c.heads; ++h) {
      const float* x = in + t * in_stride + h * d;
      float* y = out + t * D + h * d;
      for (size_t i = 0; i < half; ++i) {
        const float x0 = x[i], x1 = x[i + half];
        y[i] = x0 * cs[i] - x1 * cs[half + i];
        y[i + half] = x1 * cs[i] + x0 * cs[half + i];
      }
    }
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
  Norm(x, w.attn_norm, M, D, D, float(c.norm_eps), ws.a.data());
  w.wqkv.Forward(ws.a.data(), M, ws.qkv.data());

  // The span's keys (unrotated, kept for the cache) and values; the keys
  // rotated; both reversed per head: rev[h][T-1-j] = key j.
  ws.k_span.resize(T * D);
  ws.v_span.resize(T * D);
  std::copy_n(cache.k.data(), past * D, ws.k_span.data());
  std::copy_n(cache.v.data(), past * D, ws.v_span.data());
  const float* rope = RopeTable(c, T, ws);
  ws.k_rot.resize(T * D);
  ws.q_rot.resize(M * D);
  ws.k_rev.resize(H * T * d);
  ws.v_rev.resize(H * T * d);
  ForRows(M, [&](size_t begin, size_t end) {
    for (size_t t = begin; t < end; ++t) {
      std::copy_n(&ws.qkv[t * 3 * D + D], D, &ws.k_span[(past + t) * D]);
      std::copy_n(&ws.qkv[t * 3 * D + 2 * D], D, &ws.v_span[(past + t) * D]);
    }
    Rope(c, rope, ws.qkv.data() + begin * 3 * D, 3 * D, end - begin, past + begin, ws.q_rot.data() + begin * D);
  });
  ForRows(T, [&](size_t begin, size_t end) {
    Rope(c, rope, ws.k_span.data() + begin * D, D, end - begin, begin, ws.k_rot.data() + begin * D);
    for (size_t j = begin; j < end; ++j) {
      for (size_t h = 0; h < H; ++h) {
        std::copy_n(&ws.k_rot[j * D + h * d], d, &ws.k_rev[(h * T + T - 1 - j) * d]);
        std::copy_n(&ws.v_span[j * D + h * d], d, &ws.v_rev[(h * T + T - 1 - j) * d]);
      }
    }
  });

  const size_t B = std::min(kQueryBlock, W), blocks = (M + B - 1) / B;
  const float scale = 1.0f / std::sqrt(float(d));
  ws.o.resize(M * D);
  static tbb::enumerable_thread_specific<AttendScratch> scratch;
  tbb::parallel_for(size_t(0), blocks * H, [&](size_t task) {
    const size_t h = task % H, b = task / H;
    const size_t q0 = b * B, n = std::min(B, M - q0), a = past + q0;  // span position of the block
    const size_t lo = a >= W - 1 ? a - (W - 1) : 0, before = a - lo;
    AttendScratch& s = scratch.local();
    s.queries.Prepare(&ws.q_rot[q0 * D + h * d], n, 1, D, d, scale);
    s.acc.Reset(s.queries);
    s.before.resize(n);
    s.own.resize(n);
    for (size_t i = 0; i < n; ++i) {
      s.before[i] = uint32_t(i < W - 1 ? std::min(before, W - 1 - i) : 0);
      s.own[i] = uint32_t(i + 1);
    }
    if (before > 0) {
      const size_t r0 = h * T + (T - a);
      AttendBlock(s.queries, KVBlock{&ws.k_rev[r0 * d], &ws.v_rev[r0 * d], DType::kF32, before, d, d},
                  s.before.data(), s.acc);
    }
    AttendBlock(s.queries, KVBlock{&ws.k_rot[a * D + h * d], &ws.v_span[a * D + h * d], DType::kF32, n, D, D},
                s.own.data(), s.acc);
    s.acc.Finish(&ws.o[q0 * D + h * d], D, nullptr, 0);
  });
  w.wo.Forward(ws.o.data(), M, x, /*accumulate=*/true);

  const size_t keep = std::min(W - 1, T);
  cache.k.assign(ws.k_span.end() - keep * D, ws.k_span.end());
  cache.v.assign(ws.v_span.end() - keep * D, ws.v_span.end());
  cache.tokens = keep;
}

void MlpForward(const Model::Impl& m, const SwaMlpWeights& w, float* x, size_t M, Workspace& ws) {
  const ModelConfig& c = m.config;
  const size_t D = c.d_model, F = c.mlp_hidden;
  ws.a.resize(M * D);
  ws.hidden.resize(M * F);
  Norm(x, w.mlp_norm, M, D, D, float(c.norm_eps), ws.a.data());
  w.w1.Forward(ws.a.data(), M, ws.hidden.data());
  ForRows(M, [&](size_t begin, size_t end) { Gelu(&ws.hidden[begin * F], (end - begin) * F); });
  w.w2.Forward(ws.hidden.data(), M, x, /*accumulate=*/true);
}

}  // namespace landmark::model
