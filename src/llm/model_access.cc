// The store side's view of a model (src/llm/model_access.h).
#include "src/llm/model_access.h"

#include <filesystem>

#include "src/llm/model_impl.h"
#include "src/llm/transformer.h"

namespace landmark::llm {

AttentionShape ShapeOf(const LlmModel& model) {
  const LlmConfig& c = model.config();
  return AttentionShape{c.layers, c.q_heads, c.kv_heads, c.head_dim};
}

size_t TrainedContext(const LlmModel& model) { return model.config().max_positions; }

Rope MakeRope(const LlmModel& model) { return Rope(model.config()); }

void Forward(const LlmModel& model, const int32_t* tokens, size_t T, size_t first, LayerAttention& attention,
             float* last_logits) {
  Forward(model.impl(), tokens, T, first, attention, last_logits, last_logits ? 1 : 0);
}

std::string ModelDigest(const LlmModel& model) { return model.digest(); }

std::string ModelName(const LlmModel& model) {
  std::filesystem::path p(model.dir());
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

std::vector<int32_t> StopIds(const LlmModel& model) {
  std::vector<int32_t> ids = model.config().eos_ids;
  const int32_t eos = model.tokenizer().eos_id();
  if (eos >= 0 && std::find(ids.begin(), ids.end(), eos) == ids.end()) ids.push_back(eos);
  return ids;
}

}  // namespace landmark::llm
