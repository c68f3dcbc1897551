// What a loaded LLM holds: its config, tokenizer, the mapped weight shards
// and, per layer, the matrices as Linear views into the maps (no copies)
// and the small vectors (norms, biases) widened to f32.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "landmark/llm.h"
#include "landmark/nn.h"
#include "landmark/safetensors.h"
#include "landmark/tokenizer.h"

namespace landmark {

struct LlmLayerWeights {
  std::vector<float> input_norm, post_norm;  // [hidden]
  std::vector<float> q_norm, k_norm;         // Qwen3: [heads·head_dim] (the [head_dim] weight tiled)
  std::vector<float> q_bias, k_bias, v_bias;  // Qwen2: [heads·head_dim]
  Linear q, k, v, o, gate, up, down;
};

struct LlmModel::Impl {
  std::string dir;
  LlmConfig config;
  std::unique_ptr<Tokenizer> tokenizer;
  std::vector<std::unique_ptr<SafeTensors>> shards;  // kept mapped: the Linear views point into them
  TensorView embed;                                  // [vocab][hidden]
  std::vector<LlmLayerWeights> layers;
  std::vector<float> final_norm;
  Linear lm_head;  // a view of lm_head.weight, or of the embedding when tied
  std::string digest;
  uint64_t weight_bytes = 0;
};

}  // namespace landmark
