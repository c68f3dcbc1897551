#include "src/llm/prompt.h"

#include <algorithm>
#include <cstdint>

#include "landmark/error.h"
#include "src/llm/model_access.h"

namespace landmark::llm {
namespace {

// The token that ends an assistant turn in each chat family.
const char* EndOfTurn(ChatFormat format) {
  switch (format) {
    case ChatFormat::kLlama3: return "<|eot_id|>";
    case ChatFormat::kChatMl: return "<|im_end|>";
    case ChatFormat::kLlama2:
    case ChatFormat::kMistral: return "</s>";
  }
  return "";
}

}  // namespace

ChatPrompt MakePrompt(const LlmModel& model, const Tokenizer& tokenizer, std::string_view text,
                      const PromptOptions& options) {
  ChatPrompt prompt;
  prompt.stop_ids = StopIds(model, tokenizer);
  const bool raw = options.chat_format == "raw" || (options.chat_format.empty() && tokenizer.chat_template().empty());
  if (raw) {
    LANDMARK_CHECK_ARG(options.system.empty(), "a system message needs a chat template (the prompt is plain text)");
    prompt.format = "raw";
    prompt.ids = tokenizer.Encode(text);
  } else {
    const ChatTemplate chat = options.chat_format.empty()
                                  ? ChatTemplate::FromTokenizer(tokenizer)
                                  : ChatTemplate::FromFormat(ParseChatFormat(options.chat_format),
                                                             tokenizer.bos_token(), tokenizer.eos_token());
    std::vector<ChatMessage> messages;
    if (!options.system.empty()) messages.push_back({"system", options.system});
    messages.push_back({"user", std::string(text)});
    EncodeOptions encode;
    encode.add_special = false;  // the rendered template writes BOS itself
    prompt.ids = tokenizer.Encode(chat.Render(messages, /*add_generation_prompt=*/true), encode);
    prompt.format = Name(chat.format());
    const int32_t end = tokenizer.TokenId(EndOfTurn(chat.format()));
    if (end >= 0 && std::find(prompt.stop_ids.begin(), prompt.stop_ids.end(), end) == prompt.stop_ids.end()) {
      prompt.stop_ids.push_back(end);
    }
  }
  LANDMARK_CHECK_ARG(!prompt.ids.empty(), "the prompt is empty");
  return prompt;
}

SamplingOptions ResolveSampling(const GenerationDefaults& g, double temperature, double top_p, int64_t top_k,
                                uint64_t seed) {
  SamplingOptions s;
  s.temperature = temperature >= 0 ? temperature : g.do_sample ? g.temperature : 0.0;
  s.top_p = top_p >= 0 ? top_p : g.do_sample ? g.top_p : 1.0;
  s.top_k = top_k >= 0 ? size_t(top_k) : g.do_sample ? g.top_k : 0;
  s.seed = seed;
  return s;
}

TextResult GenerateText(LlmSession& session, const Tokenizer& tokenizer, const ChatPrompt& prompt,
                        GenerateOptions options, const std::function<bool(std::string_view)>& on_text) {
  if (options.stop_ids.empty()) options.stop_ids = prompt.stop_ids;
  TextResult r;
  StreamDecoder decoder(tokenizer);
  const std::vector<int32_t>& stop = options.stop_ids;
  auto user_on_token = std::move(options.on_token);
  options.on_token = [&](int32_t id) {
    if (user_on_token && !user_on_token(id)) return false;
    if (std::find(stop.begin(), stop.end(), id) != stop.end()) return true;
    const std::string piece = decoder.Next(id);
    r.text += piece;
    return piece.empty() || !on_text || on_text(piece);
  };
  r.result = Generate(session, prompt.ids, options);
  const std::string rest = decoder.Flush();
  r.text += rest;
  if (!rest.empty() && on_text) on_text(rest);
  return r;
}

}  // namespace landmark::llm
