// One forward pass of a Llama-family decoder: embed, per layer RMSNorm →
// q/k/v (+ bias) → q/k norms → attention (a LayerAttention context: dense
// cache or chunk store) → o → residual → RMSNorm → SwiGLU MLP → residual;
// final norm and LM head for the rows whose logits are wanted.
#pragma once

#include <cstddef>
#include <cstdint>

#include "src/llm/layer_attention.h"
#include "src/llm/model_impl.h"

namespace landmark::llm {

// T tokens at positions first .. first + T − 1. logits: [logit_rows][vocab]
// for the last logit_rows tokens (0: none, e.g. an ingest segment).
void Forward(const LlmModel::Impl& model, const int32_t* tokens, size_t T, size_t first, LayerAttention& attention,
             float* logits, size_t logit_rows);

}  // namespace landmark::llm
