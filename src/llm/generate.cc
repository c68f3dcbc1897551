// Generate: the prompt through the session, then one token per step until
// a stop id, the token budget or the end of the trained context.
#include <algorithm>
#include <chrono>
#include <cstdint>

#include "landmark/error.h"
#include "landmark/llm.h"

namespace landmark::llm {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

const char* Name(StopReason reason) {
  switch (reason) {
    case StopReason::kEos: return "eos";
    case StopReason::kMaxTokens: return "max tokens";
    case StopReason::kContextFull: return "context full";
    case StopReason::kCallback: return "callback";
  }
  return "?";
}

double GenerateResult::prefill_tokens_per_second() const {
  return prefill_seconds > 0 ? double(prompt_tokens) / prefill_seconds : 0.0;
}

double GenerateResult::decode_tokens_per_second() const {
  return decode_seconds > 0 ? double(decode_steps) / decode_seconds : 0.0;
}

GenerateResult Generate(LlmSession& session, const std::vector<int32_t>& prompt, const GenerateOptions& options) {
  const LlmConfig& c = session.model().config();
  LANDMARK_CHECK_ARG(!prompt.empty(), "generate: the prompt is empty (give at least one token, e.g. BOS)");
  const std::vector<int32_t>& stop_ids = options.stop_ids.empty() ? c.eos_ids : options.stop_ids;
  Sampler sampler(options.sampling);
  GenerateResult result;
  result.prompt_tokens = prompt.size();
  auto start = std::chrono::steady_clock::now();
  std::vector<float> logits = session.Append(prompt.data(), prompt.size());
  result.prefill_seconds = SecondsSince(start);
  if (options.max_tokens == 0) return result;
  while (true) {
    const int32_t id = sampler.Sample(logits.data(), c.vocab_size);
    result.tokens.push_back(id);
    if (options.on_token && !options.on_token(id)) {
      result.stop = StopReason::kCallback;
      break;
    }
    if (std::find(stop_ids.begin(), stop_ids.end(), id) != stop_ids.end()) {
      result.stop = StopReason::kEos;
      break;
    }
    if (result.tokens.size() >= options.max_tokens) {
      result.stop = StopReason::kMaxTokens;
      break;
    }
    if (session.tokens() >= c.max_position_embeddings) {
      result.stop = StopReason::kContextFull;
      break;
    }
    start = std::chrono::steady_clock::now();
    logits = session.Append(&id, 1);
    result.decode_seconds += SecondsSince(start);
    ++result.decode_steps;
  }
  return result;
}

}  // namespace landmark::llm
