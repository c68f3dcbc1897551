// The seam between a transformer's layers and the context its attention
// reads: a dense KV cache in memory (generation inside the trained length)
// or the chunk store (retrieval attention over documents of any length).
#pragma once

#include <cstddef>

namespace landmark::llm {

class LayerAttention {
 public:
  virtual ~LayerAttention() = default;

  // T new tokens at positions first .. first + T - 1 (positions in the
  // document; the context decides which RoPE positions they get).
  // q [T][q_heads][head_dim], k and v [T][kv_heads][head_dim]: the layer's
  // projections after biases and q/k norms, BEFORE RoPE. The context rotates
  // them, attends each new token causally to the new tokens up to itself and
  // to what it keeps from earlier calls, writes out [T][q_heads][head_dim],
  // and keeps k, v for later tokens. Called for layer 0, 1, ... in order with
  // the same (first, T) for one forward pass.
  virtual void Attend(size_t layer, size_t first, const float* q, const float* k, const float* v, size_t T,
                      float* out) = 0;
};

}  // namespace landmark::llm
