// LlmSession: the transformer over a dense KV cache, prompts in chunks.
#include <algorithm>
#include <cstdint>
#include <string>

#include "landmark/error.h"
#include "landmark/llm.h"
#include "src/llm/dense_kv_cache.h"
#include "src/llm/rope.h"
#include "src/llm/transformer.h"

namespace landmark::llm {

struct LlmSession::State {
  State(const LlmModel& m, size_t chunk) : model(m), rope(m.config()), cache(m.config(), rope), transformer(m),
                                           prefill_chunk(chunk) {}
  const LlmModel& model;
  Rope rope;
  DenseKvCache cache;
  Transformer transformer;
  size_t prefill_chunk;
};

LlmSession::LlmSession(const LlmModel& model, size_t prefill_chunk)
    : state_(std::make_unique<State>(model, std::max<size_t>(1, prefill_chunk))) {}
LlmSession::~LlmSession() = default;
LlmSession::LlmSession(LlmSession&&) noexcept = default;
LlmSession& LlmSession::operator=(LlmSession&&) noexcept = default;

size_t LlmSession::tokens() const { return state_->cache.tokens(); }
void LlmSession::Clear() { state_->cache.Clear(); }
const LlmModel& LlmSession::model() const { return state_->model; }

std::vector<float> LlmSession::Append(const int32_t* ids, size_t count, size_t logit_rows) {
  const LlmConfig& c = state_->model.config();
  LANDMARK_CHECK_ARG(logit_rows <= count, "session: " + std::to_string(logit_rows) + " logit rows of " +
                                              std::to_string(count) + " tokens");
  const size_t cached = tokens(), total = cached + count;
  LANDMARK_CHECK_ARG(total <= c.max_position_embeddings,
                     c.dir + ": the context would hold " + std::to_string(total) + " tokens (" +
                         std::to_string(cached) + " cached + " + std::to_string(count) +
                         " new), beyond the model's trained context of " + std::to_string(c.max_position_embeddings) +
                         " (max_position_embeddings). For longer documents, ingest them into a chunk store "
                         "(landmark ingest) and ask with `landmark ask`");
  CheckTokenIds(c, ids, count);  // before anything enters the cache
  std::vector<float> logits(logit_rows * c.vocab_size);
  const size_t wanted_from = count - logit_rows;  // logits of tokens [wanted_from, count)
  for (size_t begin = 0; begin < count; begin += state_->prefill_chunk) {
    const size_t end = std::min(count, begin + state_->prefill_chunk);
    const size_t rows = end > wanted_from ? end - std::max(begin, wanted_from) : 0;
    float* out = rows ? logits.data() + (end - rows - wanted_from) * c.vocab_size : nullptr;
    state_->transformer.Forward(ids + begin, end - begin, cached + begin, state_->cache, rows, out);
  }
  return logits;
}

}  // namespace landmark::llm
