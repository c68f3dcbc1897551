// The weights of a loaded Hugging Face model: matrices used in place in the
// mapped safetensors files, small vectors (norms, biases) widened to f32.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "landmark/llm.h"
#include "src/io/safetensors.h"
#include "src/nn/mlp.h"
#include "src/nn/nn.h"

namespace landmark::llm {

// y = x·Wᵀ + b over rows of x.
struct Projection {
  Linear weight;
  std::vector<float> bias;  // [out], empty: none
  // y (+)= x·Wᵀ + b for `rows` rows.
  void Forward(const float* x, size_t rows, float* y, bool accumulate = false) const;
};

struct LayerWeights {
  std::vector<float> input_norm;  // [hidden]
  Projection q, k, v, o;
  std::vector<float> q_norm, k_norm;  // [head_dim] (Qwen3), else empty
  Mlp mlp;  // SwiGLU: post_attention_layernorm, gate_proj (W_1), up_proj (W_3), down_proj (W_2)
};

struct LlmModel::Impl {
  LlmConfig config;
  std::vector<SafeTensors> files;  // the mapped checkpoint files
  const void* embed = nullptr;     // [vocab][hidden] of embed_dtype, in a mapped file
  DType embed_dtype = DType::kF32;
  std::vector<float> final_norm;   // [hidden]
  Linear lm_head;                  // [vocab][hidden]; the embedding itself when tied
  std::vector<LayerWeights> layers;
};

// Maps `config.dir`'s weights and checks every tensor (see LlmModel::Load).
std::unique_ptr<LlmModel::Impl> LoadWeights(LlmConfig config);

// The tensor names of a model of `config`'s architecture: embedding, layer
// by layer, final norm, LM head (unless tied), with their shapes and how
// random weights initialise them.
std::vector<TensorSpec> TensorSpecs(const LlmConfig& config);

}  // namespace landmark::llm
