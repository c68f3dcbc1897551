// Chat templates: the family of a model's Jinja template recognised from its
// text, and that family's prompt written out as transformers'
// apply_chat_template renders the real templates (tests/data/llm/chat).

#include <optional>
#include <string>

#include "landmark/error.h"
#include "landmark/tokenizer.h"
#include "src/core/enum_names.h"
#include "src/tokenizer/unicode.h"

namespace landmark {
namespace {

constexpr const char* kFamilies =
    "llama2 ([INST] with <<SYS>>), llama3 (<|start_header_id|>), chatml (<|im_start|>), mistral ([INST])";

bool Contains(std::string_view text, std::string_view what) { return text.find(what) != std::string_view::npos; }

// The string literal of `jinja` that starts at `at`, just after its opening
// quote, with Jinja's escapes resolved; nullopt if it is not closed.
std::optional<std::string> JinjaString(std::string_view jinja, size_t at, char quote) {
  std::string out;
  for (size_t i = at; i < jinja.size(); ++i) {
    if (jinja[i] == quote) return out;
    if (jinja[i] != '\\' || i + 1 == jinja.size()) {
      out += jinja[i];
      continue;
    }
    const char c = jinja[++i];
    out += c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
  }
  return std::nullopt;
}

// ChatML templates that give a system prompt when the conversation has none
// write it as one literal: '<|im_start|>system\n...<|im_end|>\n'.
std::string DefaultSystemPrompt(std::string_view jinja) {
  constexpr std::string_view kOpen = "<|im_start|>system\n", kClose = "<|im_end|>";
  for (size_t at = jinja.find("<|im_start|>system"); at != std::string_view::npos;
       at = jinja.find("<|im_start|>system", at + 1)) {
    if (at == 0 || (jinja[at - 1] != '\'' && jinja[at - 1] != '"')) continue;
    const std::optional<std::string> literal = JinjaString(jinja, at, jinja[at - 1]);
    if (!literal || literal->rfind(kOpen, 0) != 0) continue;
    const size_t close = literal->find(kClose);
    if (close != std::string::npos && close > kOpen.size()) return literal->substr(kOpen.size(), close - kOpen.size());
  }
  return "";
}

std::string Strip(const std::string& s) { return std::string(tokenizer::PythonStrip(s)); }

void CheckRoles(const std::vector<ChatMessage>& messages, ChatFormat format) {
  LANDMARK_CHECK_ARG(!messages.empty(), std::string("chat: the conversation has no messages (") + Name(format) + ")");
  for (const ChatMessage& m : messages) {
    LANDMARK_CHECK_ARG(m.role == "system" || m.role == "user" || m.role == "assistant",
                       "chat: role '" + m.role + "' is not one of system, user, assistant (" + Name(format) + ")");
  }
}

}  // namespace

constexpr EnumName<ChatFormat> kChatFormatNames[] = {{ChatFormat::kLlama2, "llama2"},
                                                     {ChatFormat::kLlama3, "llama3"},
                                                     {ChatFormat::kChatMl, "chatml"},
                                                     {ChatFormat::kMistral, "mistral"}};

const char* Name(ChatFormat format) { return NameIn(kChatFormatNames, format); }
ChatFormat ParseChatFormat(std::string_view name) { return ParseIn(kChatFormatNames, name, "chat format"); }

ChatTemplate ChatTemplate::Recognise(std::string_view jinja, std::string bos_token, std::string eos_token) {
  ChatTemplate t = FromFormat(ChatFormat::kChatMl, std::move(bos_token), std::move(eos_token));
  t.variant_ = Variant();
  if (Contains(jinja, "<|start_header_id|>")) {
    t.format_ = ChatFormat::kLlama3;
    t.variant_.dated_system_header = Contains(jinja, "Cutting Knowledge Date");
    t.variant_.trim_content = Contains(jinja, "trim");
  } else if (Contains(jinja, "<|im_start|>")) {
    t.format_ = ChatFormat::kChatMl;
    t.variant_.default_system = DefaultSystemPrompt(jinja);
  } else if (Contains(jinja, "[INST]") && Contains(jinja, "<<SYS>>")) {
    t.format_ = ChatFormat::kLlama2;
  } else if (Contains(jinja, "[INST]")) {
    t.format_ = ChatFormat::kMistral;
    t.variant_.inst_space = Contains(jinja, "' [/INST]'") || Contains(jinja, "\" [/INST]\"");
    t.variant_.trim_content = Contains(jinja, "trim");  // v0.3 as published trims answers
    t.variant_.assistant_space = Contains(jinja, "' ' + message") || Contains(jinja, "\" \" + message");
    t.variant_.system_with_last_user = Contains(jinja, "system_message") && Contains(jinja, "loop.last");
  } else {
    LANDMARK_THROW(std::string("chat template not recognised: landmark does not run Jinja, it renders the families ") +
                   kFamilies + "; choose one of them as the chat format, or \"raw\" to send the prompt as it is");
  }
  return t;
}

ChatTemplate ChatTemplate::FromTokenizer(const Tokenizer& tokenizer) {
  LANDMARK_CHECK_ARG(!tokenizer.chat_template().empty(),
                     tokenizer.path() +
                         ": the tokenizer has no chat template (no chat_template in "
                         "tokenizer_config.json, no chat_template.jinja); choose a chat format "
                         "(llama2, llama3, chatml, mistral) or \"raw\"");
  return Recognise(tokenizer.chat_template(), tokenizer.bos_token(), tokenizer.eos_token());
}

ChatTemplate ChatTemplate::FromFormat(ChatFormat format, std::string bos_token, std::string eos_token) {
  ChatTemplate t;
  t.format_ = format;
  t.bos_ = std::move(bos_token);
  t.eos_ = std::move(eos_token);
  if (format == ChatFormat::kLlama3) t.variant_.dated_system_header = true;  // Llama 3.1 and later
  if (format == ChatFormat::kMistral) {  // v0.3, the newest 7B instruct model's template
    t.variant_.inst_space = false;
    t.variant_.assistant_space = true;
    t.variant_.system_with_last_user = true;
  }
  return t;
}

std::string ChatTemplate::Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  CheckRoles(messages, format_);
  const bool leading_system = messages[0].role == "system";
  std::string out;
  switch (format_) {
    case ChatFormat::kLlama2: {
      // The system message goes inside the first [INST]; roles alternate after it.
      const size_t first = leading_system ? 1 : 0;
      for (size_t i = first; i < messages.size(); ++i) {
        const ChatMessage& m = messages[i];
        LANDMARK_CHECK_ARG((m.role == "user") == ((i - first) % 2 == 0),
                           "Conversation roles must alternate user/assistant/user/assistant/...");
        std::string content = m.content;
        if (i == first && leading_system) content = "<<SYS>>\n" + messages[0].content + "\n<</SYS>>\n\n" + content;
        if (m.role == "user") out += bos_ + "[INST] " + Strip(content) + " [/INST]";
        if (m.role == "assistant") out += " " + Strip(content) + " " + eos_;
      }
      return out;  // the template has no generation prompt: the answer follows [/INST]
    }
    case ChatFormat::kLlama3: {
      const auto header = [](const std::string& role) {
        return "<|start_header_id|>" + role + "<|end_header_id|>\n\n";
      };
      const auto content = [this](const std::string& c) { return variant_.trim_content ? Strip(c) : c; };
      size_t first = 0;
      if (variant_.dated_system_header) {
        const std::string system = leading_system ? Strip(messages[0].content) : "";
        first = leading_system ? 1 : 0;
        out += bos_ + header("system") + "Cutting Knowledge Date: December 2023\nToday Date: " + date_string_ + "\n\n" +
               system + "<|eot_id|>";
      }
      for (size_t i = first; i < messages.size(); ++i) {
        if (i == 0 && !variant_.dated_system_header) out += bos_;
        out += header(messages[i].role) + content(messages[i].content) + "<|eot_id|>";
      }
      if (add_generation_prompt) out += header("assistant");
      return out;
    }
    case ChatFormat::kChatMl: {
      if (!variant_.default_system.empty() && !leading_system) {
        out += "<|im_start|>system\n" + variant_.default_system + "<|im_end|>\n";
      }
      for (const ChatMessage& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      return out;
    }
    case ChatFormat::kMistral: {
      // v0.3 moves a leading system message into the last [INST]; v0.1 has
      // no system role, so one breaks the alternation.
      const bool system = variant_.system_with_last_user && leading_system;
      const size_t first = system ? 1 : 0;
      out += bos_;
      for (size_t i = first; i < messages.size(); ++i) {
        const ChatMessage& m = messages[i];
        LANDMARK_CHECK_ARG((m.role == "user") == ((i - first) % 2 == 0),
                           std::string(variant_.system_with_last_user ? "After the optional system message, c" : "C") +
                               "onversation roles must alternate user/assistant/user/assistant/...");
        if (m.role == "user") {
          const std::string text =
              system && i + 1 == messages.size() ? messages[0].content + "\n\n" + m.content : m.content;
          out += "[INST] " + text + (variant_.inst_space ? " [/INST]" : "[/INST]");
        } else if (m.role == "assistant") {
          out += (variant_.assistant_space ? " " : "") + (variant_.trim_content ? Strip(m.content) : m.content) + eos_;
        } else {
          LANDMARK_THROW(variant_.system_with_last_user
                             ? "Only user and assistant roles are supported, with the exception of an initial "
                               "optional system message!"
                             : "Only user and assistant roles are supported!");
        }
      }
      return out;  // the answer follows [/INST]
    }
  }
  return out;
}

}  // namespace landmark
