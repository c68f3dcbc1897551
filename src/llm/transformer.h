// The forward pass of a decoder-only Hugging Face transformer (Llama, Qwen2,
// Qwen3, Mistral) over T new tokens, with attention delegated to a
// LayerAttention context (a dense KV cache, or the chunk store):
//
//   x = embed(tokens)
//   per layer: h = RMSNorm(x); q, k, v = h·Wqᵀ + bq, h·Wkᵀ + bk, h·Wvᵀ + bv
//              q, k = RMSNorm per head (Qwen3)
//              x += Attend(q, k, v)·Woᵀ (+ bo)      (RoPE, softmax: the context)
//              h = RMSNorm(x); x += (SiLU(h·Wgateᵀ) ⊙ h·Wupᵀ)·Wdownᵀ  (src/nn/mlp.h)
//   logits = RMSNorm(x)·Wheadᵀ for the rows asked for
//
// T > 8 rows run as oneDNN matmuls, fewer as Highway dot products (decode
// reads each weight once per step). Scratch is kept between calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "landmark/llm.h"
#include "src/llm/layer_attention.h"
#include "src/nn/mlp.h"

namespace landmark::llm {

class Transformer {
 public:
  // `model` must outlive the transformer.
  explicit Transformer(const LlmModel& model);

  // tokens [T] at positions first .. first + T − 1, continuing what
  // `attention` keeps (called for layers 0, 1, ... with this (first, T)).
  // logits [logit_rows][vocab]: the last logit_rows of the T tokens (0:
  // none, T: all). Ids must be < vocab (landmark::Error otherwise). Not
  // safe to call from several threads at once (one scratch).
  void Forward(const int32_t* tokens, size_t T, size_t first, LayerAttention& attention, size_t logit_rows,
               float* logits);

  const LlmConfig& config() const;

 private:
  const LlmModel::Impl& m_;
  // [T][hidden] residual stream and normed copy; [T][q|kv heads·d]; the MLP's rows.
  std::vector<float> x_, h_, q_, k_, v_, o_;
  MlpScratch mlp_;
};

// Throws landmark::Error naming the first id outside config's vocabulary.
void CheckTokenIds(const LlmConfig& config, const int32_t* ids, size_t count);

}  // namespace landmark::llm
