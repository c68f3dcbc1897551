// Exact attention over an in-memory KV cache: generation inside the trained
// context. Keys are kept rotated (RoPE at their true positions), f32.
#pragma once

#include <cstddef>
#include <vector>

#include "src/llm/layer_attention.h"
#include "src/llm/rope.h"

namespace landmark::llm {

class DenseKvCache : public LayerAttention {
 public:
  // window: 0, or a sliding window (token i sees j when i − window < j ≤ i).
  DenseKvCache(size_t layers, size_t q_heads, size_t kv_heads, size_t head_dim, size_t window, Rope& rope);

  void Attend(size_t layer, size_t first, const float* q, const float* k, const float* v, size_t T,
              float* out) override;
  size_t tokens() const { return tokens_; }

 private:
  size_t layers_, q_heads_, kv_heads_, d_, window_;
  Rope& rope_;
  size_t tokens_ = 0;  // cached (after the last layer of a pass)
  std::vector<std::vector<float>> k_, v_;  // per layer [tokens][kv_heads][d]
};

}  // namespace landmark::llm
