// The decoder layers over T new tokens (the steps are in transformer.h).
#include "src/llm/transformer.h"

#include <cstdint>
#include <string>

#include "landmark/error.h"
#include "src/kernels/kernels.h"
#include "src/nn/nn.h"
#include "src/llm/weights.h"
#include "src/nn/rows.h"

namespace landmark::llm {
void CheckTokenIds(const LlmConfig& config, const int32_t* ids, size_t count) {
  for (size_t t = 0; t < count; ++t) {
    LANDMARK_CHECK_ARG(ids[t] >= 0 && size_t(ids[t]) < config.vocab_size,
                       "token id " + std::to_string(ids[t]) + " is outside the vocabulary of " +
                           std::to_string(config.vocab_size) + " (" + config.dir + ")");
  }
}

Transformer::Transformer(const LlmModel& model) : m_(model.impl()) {}

const LlmConfig& Transformer::config() const { return m_.config; }

void Transformer::Forward(const int32_t* tokens, size_t T, size_t first, LayerAttention& attention,
                          size_t logit_rows, float* logits) {
  const LlmConfig& c = m_.config;
  LANDMARK_CHECK_ARG(logit_rows <= T, "transformer: " + std::to_string(logit_rows) + " logit rows of " +
                                          std::to_string(T) + " tokens");
  CheckTokenIds(c, tokens, T);
  if (T == 0) return;
  const size_t D = c.hidden_size, d = c.head_dim;
  const size_t Q = c.q_heads * d, KV = c.kv_heads * d;
  const float eps = float(c.rms_norm_eps);
  x_.resize(T * D);
  h_.resize(T * D);
  q_.resize(T * Q);
  k_.resize(T * KV);
  v_.resize(T * KV);
  o_.resize(T * Q);
  float *x = x_.data(), *h = h_.data(), *q = q_.data(), *k = k_.data(), *v = v_.data(), *o = o_.data();

  const size_t row_bytes = D * SizeOf(m_.embed_dtype);
  ForRows(T, [&](size_t begin, size_t end) {
    for (size_t t = begin; t < end; ++t) {
      ConvertToF32(static_cast<const char*>(m_.embed) + size_t(tokens[t]) * row_bytes, m_.embed_dtype, D, x + t * D);
    }
  });
  for (size_t layer = 0; layer < c.layers; ++layer) {
    const LayerWeights& w = m_.layers[layer];
    RmsNormRows(x, w.input_norm, T, D, D, eps, h);
    w.q.Forward(h, T, q);
    w.k.Forward(h, T, k);
    w.v.Forward(h, T, v);
    if (c.qk_norm) {
      RmsNormRows(q, w.q_norm, T * c.q_heads, d, d, eps, q);
      RmsNormRows(k, w.k_norm, T * c.kv_heads, d, d, eps, k);
    }
    attention.Attend(layer, first, q, k, v, T, o);
    w.o.Forward(o, T, x, /*accumulate=*/true);
    w.mlp.Forward(x, T, x, /*accumulate=*/true, mlp_);
  }
  if (logit_rows == 0) return;
  RmsNormRows(x + (T - logit_rows) * D, m_.final_norm, logit_rows, D, D, eps, h);
  m_.lm_head.Forward(h, logit_rows, logits);
}

}  // namespace landmark::llm
