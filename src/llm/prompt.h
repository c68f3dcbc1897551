// A user's prompt as the model reads it (its chat template, or plain text
// for a base model) and text generation on top of token generation: what
// `landmark generate`, the C API and Python share.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "landmark/llm.h"
#include "landmark/tokenizer.h"

namespace landmark::llm {

struct PromptOptions {
  // "" = the model's template (plain text when it has none), "raw" = plain
  // text, or a family: "llama2", "llama3", "chatml", "mistral".
  std::string chat_format;
  std::string system;  // a system message (needs a template)
};

struct ChatPrompt {
  std::vector<int32_t> ids;
  std::vector<int32_t> stop_ids;  // the model's eos ids, the tokenizer's, the template's end of turn
  std::string format;             // "raw" or the family used
};

ChatPrompt MakePrompt(const LlmModel& model, const Tokenizer& tokenizer, std::string_view text,
                      const PromptOptions& options);

// Sampling as the user asked, where unset (< 0) from generation_config.json
// when it samples, else greedy.
SamplingOptions ResolveSampling(const GenerationDefaults& defaults, double temperature, double top_p, int64_t top_k,
                                uint64_t seed);

struct TextResult {
  std::string text;  // the generated text (the stop token left out)
  GenerateResult result;
};

// Generates from `prompt.ids` (stop ids: the prompt's unless options give
// some), passing the text to `on_text` as it is decoded (return false to stop).
TextResult GenerateText(LlmSession& session, const Tokenizer& tokenizer, const ChatPrompt& prompt,
                        GenerateOptions options, const std::function<bool(std::string_view)>& on_text = {});

}  // namespace landmark::llm
