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
                     info.path + ": not an LLM store (no '" + key + "' in its metadata); ingest with --model DIR");
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

std::string DocumentLine(const LlmDocument& d) {
  nlohmann::json j = {{"path", d.path},
                      {"bytes", d.bytes},
                      {"hash", d.hash},
                      {"first_token", d.first_token},
                      {"tokens", d.tokens}};
  return j.dump() + "\n";
}

std::vector<LlmDocument> ParseDocuments(std::string_view attachment, const std::string& where,
                                        std::string_view name) {
  std::vector<LlmDocument> out;
  size_t line = 0, begin = 0;
  while (begin < attachment.size()) {
    size_t end = attachment.find('\n', begin);
    LANDMARK_CHECK_ARG(end != std::string_view::npos,
                       where + ": " + std::string(name) + " line " + std::to_string(line + 1) + " is cut short");
    ++line;
    const std::string text(attachment.substr(begin, end - begin));
    begin = end + 1;
    const std::string at = where + ": " + std::string(name) + " line " + std::to_string(line);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const std::exception&) {
      LANDMARK_THROW(at + " is not JSON");
    }
    LlmDocument d;
    auto field = [&](const char* name, auto& value, bool number) {
      LANDMARK_CHECK_ARG(j.is_object() && j.contains(name) &&
                             (number ? j[name].is_number_unsigned() : j[name].is_string()),
                         at + ": '" + name + "' missing or of the wrong type");
      value = j[name].get<std::remove_reference_t<decltype(value)>>();
    };
    field("path", d.path, false);
    field("bytes", d.bytes, true);
    field("hash", d.hash, false);
    field("first_token", d.first_token, true);
    field("tokens", d.tokens, true);
    LANDMARK_CHECK_ARG(out.empty() || d.first_token >= out.back().first_token,
                       at + ": documents out of order");
    out.push_back(std::move(d));
  }
  return out;
}

void AppendSource(std::string& out, const LlmChunkSource& source) {
  char bytes[kSourceBytes];
  std::memcpy(bytes, &source.document, 8);
  std::memcpy(bytes + 8, &source.offset, 8);
  out.append(bytes, kSourceBytes);
}

LlmChunkSource ReadSource(std::string_view attachment, size_t chunk) {
  LlmChunkSource s;
  if ((chunk + 1) * kSourceBytes > attachment.size()) return s;  // unknown: reported as the preamble
  std::memcpy(&s.document, attachment.data() + chunk * kSourceBytes, 8);
  std::memcpy(&s.offset, attachment.data() + chunk * kSourceBytes + 8, 8);
  return s;
}

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
                         "'); ingest documents with `landmark ingest --model DIR`");
  const std::string digest = Meta(info, "llm.digest");
  LANDMARK_CHECK_ARG(digest == ModelDigest(model),
                     info.path + ": written by the model '" + Meta(info, "llm.model") + "' (digest " + digest +
                         "), not by '" + ModelName(model) + "' (digest " + ModelDigest(model) +
                         "): a store answers only with the model that ingested it");
}

}  // namespace landmark::llm
