// Dense attention over every earlier token, kept in memory: the context of
// generation inside a model's trained length. Per layer, keys rotated at
// their positions and values, f32 [tokens][kv_heads][head_dim]; GQA; causal;
// per-layer sliding windows (token i sees j when i − W < j ≤ i). One new
// token runs DenseDecode, several run CausalPrefill after the cached ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "landmark/llm.h"
#include "src/llm/layer_attention.h"
#include "src/llm/rope.h"

namespace landmark::llm {

class DenseKvCache : public LayerAttention {
 public:
  // `rope` must outlive the cache (its table grows as positions are needed).
  DenseKvCache(const LlmConfig& config, Rope& rope);

  // Tokens go at positions first .. first + T − 1 and must continue the
  // cache (first == tokens()); the count advances after the last layer.
  void Attend(size_t layer, size_t first, const float* q, const float* k, const float* v, size_t T,
              float* out) override;

  size_t tokens() const { return tokens_; }
  void Clear();
  // Layer `layer`'s rotated keys and values, [tokens()][kv_heads][head_dim].
  const std::vector<float>& keys(size_t layer) const { return layers_[layer].k; }
  const std::vector<float>& values(size_t layer) const { return layers_[layer].v; }

 private:
  struct Layer {
    std::vector<float> k, v;
  };
  size_t q_heads_, kv_heads_, head_dim_;
  std::vector<size_t> windows_;
  Rope& rope_;
  std::vector<Layer> layers_;
  size_t tokens_ = 0;
  std::vector<float> q_rot_;
  std::vector<int64_t> positions_;
};

}  // namespace landmark::llm
