// What the store side (ingest, answering) needs of a loaded model: its
// attention shape, a RoPE table of its own, one forward pass through a
// LayerAttention context, and an identity for the store's metadata.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "landmark/llm.h"
#include "landmark/llm_store.h"
#include "src/llm/layer_attention.h"
#include "src/llm/rope.h"
#include "src/llm/store_attention.h"

namespace landmark::llm {

AttentionShape ShapeOf(const LlmModel& model);
// The model's trained context (max_position_embeddings).
size_t TrainedContext(const LlmModel& model);
Rope MakeRope(const LlmModel& model);
// T tokens at positions first.. through every layer; the last token's
// logits [vocab] into last_logits unless it is null.
void Forward(const LlmModel& model, const int32_t* tokens, size_t T, size_t first, LayerAttention& attention,
             float* last_logits);
// Identifies the model a store was written by (config, tokenizer, weights' shapes).
std::string ModelDigest(const LlmModel& model);
std::string ModelName(const LlmModel& model);  // the directory's name
std::vector<int32_t> StopIds(const LlmModel& model);

// Picks tokens from logits as `sampling` says (greedy at temperature 0).
class TokenSampler {
 public:
  explicit TokenSampler(const LlmSampling& sampling);
  ~TokenSampler();
  int32_t Next(const float* logits, size_t vocab);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace landmark::llm
