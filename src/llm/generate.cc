// Dense generation inside the trained context, chat prompts, and the dense
// logits of a sequence (parity tests).
#include <chrono>
#include <string>

#include "landmark/error.h"
#include "landmark/llm.h"
#include "landmark/tokenizer.h"
#include "src/llm/dense_cache.h"
#include "src/llm/model_access.h"
#include "src/llm/model_impl.h"
#include "src/llm/transformer.h"

namespace landmark {

std::vector<int32_t> ChatPrompt(const LlmModel& model, const std::string& user, const std::string& system,
                                const std::string& chat_format) {
  const Tokenizer& t = model.tokenizer();
  if (chat_format == "raw") return t.Encode(user);  // as the text says, with the tokenizer's BOS
  const ChatTemplate chat = chat_format.empty()
                                ? ChatTemplate::FromTokenizer(t)
                                : ChatTemplate::FromFormat(ParseChatFormat(chat_format), t.bos_token(), t.eos_token());
  std::vector<ChatMessage> messages;
  if (!system.empty()) messages.push_back({"system", system});
  messages.push_back({"user", user});
  EncodeOptions options;
  options.add_special = false;  // the template writes BOS itself where the model wants one
  return t.Encode(chat.Render(messages, /*add_generation_prompt=*/true), options);
}

LlmGeneration Generate(const LlmModel& model, const std::vector<int32_t>& prompt, const LlmSampling& sampling,
                       const std::function<bool(int32_t, std::string_view)>& on_token) {
  using Clock = std::chrono::steady_clock;
  const LlmConfig& c = model.config();
  LANDMARK_CHECK_ARG(!prompt.empty(), "generate: the prompt has no tokens");
  LANDMARK_CHECK_ARG(prompt.size() < c.max_positions,
                     "generate: the prompt's " + std::to_string(prompt.size()) + " tokens do not fit the model's " +
                         std::to_string(c.max_positions) +
                         "-token trained context; ingest the text into a store (`landmark ingest --model DIR`) "
                         "and ask about it (`landmark ask --model DIR STORE`)");
  LlmGeneration g;
  g.prompt_tokens = prompt.size();
  llm::Rope rope(c);
  llm::DenseKvCache cache(c.layers, c.q_heads, c.kv_heads, c.head_dim, c.sliding_window, rope);
  std::vector<float> logits(c.vocab_size);
  const auto start = Clock::now();
  llm::Forward(model.impl(), prompt.data(), prompt.size(), 0, cache, logits.data(), 1);
  g.prefill_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const std::vector<int32_t> stops = llm::StopIds(model);
  llm::TokenSampler sampler(sampling);
  StreamDecoder decoder(model.tokenizer());
  const auto decode_start = Clock::now();
  while (g.tokens.size() < sampling.max_tokens) {
    const int32_t token = sampler.Next(logits.data(), c.vocab_size);
    if (std::find(stops.begin(), stops.end(), token) != stops.end()) {
      g.stopped = true;
      break;
    }
    g.tokens.push_back(token);
    const std::string piece = decoder.Next(token);
    g.text += piece;
    if (on_token && !on_token(token, piece)) break;
    if (cache.tokens() + 1 >= c.max_positions) break;  // the trained context is full
    llm::Forward(model.impl(), &token, 1, cache.tokens(), cache, logits.data(), 1);
  }
  const std::string rest = decoder.Flush();
  g.text += rest;
  if (on_token && !rest.empty()) on_token(-1, rest);
  g.decode_seconds = std::chrono::duration<double>(Clock::now() - decode_start).count();
  return g;
}

std::vector<float> DenseLogits(const LlmModel& model, const std::vector<int32_t>& tokens) {
  const LlmConfig& c = model.config();
  LANDMARK_CHECK_ARG(tokens.size() <= c.max_positions, "logits: more tokens than the trained context");
  llm::Rope rope(c);
  llm::DenseKvCache cache(c.layers, c.q_heads, c.kv_heads, c.head_dim, c.sliding_window, rope);
  std::vector<float> logits(tokens.size() * c.vocab_size);
  llm::Forward(model.impl(), tokens.data(), tokens.size(), 0, cache, logits.data(), tokens.size());
  return logits;
}

}  // namespace landmark
