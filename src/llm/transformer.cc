// The decoder's forward pass (src/llm/transformer.h).
#include "src/llm/transformer.h"

#include <string>
#include <vector>

#include "landmark/error.h"
#include "landmark/kernels.h"

namespace landmark::llm {
namespace {

void AddBias(float* x, const std::vector<float>& bias, size_t rows) {
  if (bias.empty()) return;
  for (size_t r = 0; r < rows; ++r) AddInPlace(x + r * bias.size(), bias.data(), bias.size());
}

}  // namespace

void Forward(const LlmModel::Impl& m, const int32_t* tokens, size_t T, size_t first, LayerAttention& attention,
             float* logits, size_t logit_rows) {
  const LlmConfig& c = m.config;
  const size_t D = c.hidden, dh = c.head_dim, q_width = c.q_heads * dh, kv_width = c.kv_heads * dh;
  const size_t F = c.intermediate;
  const float eps = float(c.rms_eps);
  LANDMARK_CHECK_ARG(logit_rows <= T, "forward: logits for more rows than tokens");
  // Activations, allocated once per pass.
  std::vector<float> x(T * D), h(T * D), q(T * q_width), k(T * kv_width), v(T * kv_width), attn(T * q_width);
  std::vector<float> gate(T * F), up(T * F);
  const size_t row_bytes = D * SizeOf(m.embed.dtype);
  for (size_t t = 0; t < T; ++t) {
    LANDMARK_CHECK_ARG(tokens[t] >= 0 && size_t(tokens[t]) < c.vocab_size,
                       "forward: token id " + std::to_string(tokens[t]) + " is outside the vocabulary (" +
                           std::to_string(c.vocab_size) + ")");
    ConvertToF32(static_cast<const uint8_t*>(m.embed.data) + size_t(tokens[t]) * row_bytes, m.embed.dtype, D,
                 &x[t * D]);
  }
  for (size_t l = 0; l < c.layers; ++l) {
    const LlmLayerWeights& L = m.layers[l];
    RmsNorm(x.data(), L.input_norm.data(), T, D, D, eps, h.data());
    L.q.Forward(h.data(), T, q.data());
    L.k.Forward(h.data(), T, k.data());
    L.v.Forward(h.data(), T, v.data());
    AddBias(q.data(), L.q_bias, T);
    AddBias(k.data(), L.k_bias, T);
    AddBias(v.data(), L.v_bias, T);
    if (!L.q_norm.empty()) {
      RmsNorm(q.data(), L.q_norm.data(), T, q_width, dh, eps, q.data());
      RmsNorm(k.data(), L.k_norm.data(), T, kv_width, dh, eps, k.data());
    }
    attention.Attend(l, first, q.data(), k.data(), v.data(), T, attn.data());
    L.o.Forward(attn.data(), T, x.data(), /*accumulate=*/true);
    RmsNorm(x.data(), L.post_norm.data(), T, D, D, eps, h.data());
    L.gate.Forward(h.data(), T, gate.data());
    L.up.Forward(h.data(), T, up.data());
    SiluGate(up.data(), gate.data(), T * F, gate.data());  // SiLU(gate) ⊙ up
    L.down.Forward(gate.data(), T, x.data(), /*accumulate=*/true);
  }
  if (logit_rows == 0) return;
  const float* last = x.data() + (T - logit_rows) * D;
  RmsNorm(last, m.final_norm.data(), logit_rows, D, D, eps, h.data());
  m.lm_head.Forward(h.data(), logit_rows, logits);
}

}  // namespace landmark::llm
