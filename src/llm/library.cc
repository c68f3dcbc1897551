// Metadata, chat frame, documents table and chunk sources of an LLM store.
#include "src/llm/library.h"

#include <nlohmann/json.hpp>

#include <cstring>

#include "landmark/error.h"
#include "src/llm/model_access.h"

namespace landmark::llm {
namespace {

// Stands for the user's message while the template is rendered; split on it.
constexpr std::string_view kMarker = "\x01landmark-message\x01";

std::string Meta(const StoreInfo& info, const std::string& key) {
  auto it = info.metadata.find(key);
  LANDMARK_CHECK_ARG(it != info.metadata.end(),
                     info.path + ": not an LLM store (no '" + key + "' in its metadata); ingest documents through the LLM (LlmIngest)");
  return it->second;
}

}  // namespace

ChatFrame ChatFrame::Make(const Tokenizer& tokenizer, const std::string& format, const std::string& system) {
  ChatFrame frame;
  // A base model (no chat template) reads documents and questions as plain text.
  if (format == "raw" || (format.empty() && tokenizer.chat_template().empty())) {
    frame.format = "raw";
    frame.question_suffix = "\nAnswer:";
    return frame;
  }
  const ChatTemplate chat = format.empty()
                                ? ChatTemplate::FromTokenizer(tokenizer)
                                : ChatTemplate::FromFormat(ParseChatFormat(format), tokenizer.bos_token(),
                                                           tokenizer.eos_token());
  std::vector<ChatMessage> messages;
  if (!system.empty()) messages.push_back({"system", system});
  messages.push_back({"user", std::string(kMarker)});
  const std::string rendered = chat.Render(messages, /*add_generation_prompt=*/true);
  const size_t at = rendered.find(kMarker);
  LANDMARK_CHECK_ARG(at != std::string::npos && rendered.find(kMarker, at + 1) == std::string::npos,
                     std::string("chat template (") + Name(chat.format()) +
                         "): the user's message does not appear once in the rendered prompt");
  frame.format = Name(chat.format());
  frame.preamble = rendered.substr(0, at);
  frame.question_suffix = rendered.substr(at + kMarker.size());
  return frame;
}

void ChatFrame::ToMetadata(std::map<std::string, std::string>& metadata) const {
  metadata["llm.chat_format"] = format;
  metadata["llm.preamble"] = preamble;
  metadata["llm.question_prefix"] = question_prefix;
  metadata["llm.question_suffix"] = question_suffix;
}

ChatFrame ChatFrame::FromMetadata(const StoreInfo& info) {
  ChatFrame frame;
  frame.format = Meta(info, "llm.chat_format");
  frame.preamble = Meta(info, "llm.preamble");
  frame.question_prefix = Meta(info, "llm.question_prefix");
  frame.question_suffix = Meta(info, "llm.question_suffix");
  return frame;
}

std::string DocumentHeader(const std::string& path) { return "### File: " + path + "\n\n"; }


void ModelToMetadata(const LlmModel& model, std::map<std::string, std::string>& metadata) {
  const AttentionShape s = ShapeOf(model);
  metadata["encoder"] = "llm";
  metadata["llm.model"] = ModelName(model);
  metadata["llm.digest"] = ModelDigest(model);
  metadata["llm.architecture"] = Name(model.config().architecture);
  metadata["llm.layers"] = std::to_string(s.layers);
  metadata["llm.kv_heads"] = std::to_string(s.kv_heads);
  metadata["llm.q_heads"] = std::to_string(s.q_heads);
  metadata["llm.head_dim"] = std::to_string(s.head_dim);
}

void CheckModel(const StoreInfo& info, const LlmModel& model) {
  auto encoder = info.metadata.find("encoder");
  LANDMARK_CHECK_ARG(encoder != info.metadata.end() && encoder->second == "llm",
                     info.path + ": not a store of an LLM's K/V (encoder '" +
                         (encoder == info.metadata.end() ? std::string("?") : encoder->second) +
                         "'); ingest documents through the LLM (LlmIngest)");
  const std::string digest = Meta(info, "llm.digest");
  LANDMARK_CHECK_ARG(digest == ModelDigest(model),
                     info.path + ": written by the model '" + Meta(info, "llm.model") + "' (digest " + digest +
                         "), not by '" + ModelName(model) + "' (digest " + ModelDigest(model) +
                         "): a store answers only with the model that ingested it");
}

}  // namespace landmark::llm
