// Chat prompt formats: the family of a model's Jinja template recognised
// from its text, rendered as that family's templates render it (checked
// against transformers' apply_chat_template in tests/data/llm/chat).
#include <regex>

#include "landmark/error.h"
#include "landmark/tokenizer.h"
#include "src/tokenizer/text.h"

namespace landmark {
namespace {

bool Has(std::string_view text, std::string_view what) { return text.find(what) != std::string_view::npos; }

// Jinja's trim / Python's str.strip(): whitespace off both ends.
std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e) {
    size_t i = b;
    if (!tokenizer::IsWhitespace(tokenizer::DecodeUtf8(s, i))) break;
    b = i;
  }
  while (e > b) {
    size_t start = e - 1;
    while (start > b && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t i = start;
    if (!tokenizer::IsWhitespace(tokenizer::DecodeUtf8(s, i))) break;
    e = start;
  }
  return s.substr(b, e - b);
}

const char* kFamilies = "llama2, llama3, chatml, mistral";

[[noreturn]] void Refuse(const std::string& why) { LANDMARK_THROW("chat template: " + why); }

// user, assistant, user, ... (after an optional leading system message when `system_allowed`).
void CheckAlternating(const std::vector<ChatMessage>& messages, size_t first) {
  for (size_t i = first; i < messages.size(); ++i) {
    const bool user = messages[i].role == "user";
    if (user != ((i - first) % 2 == 0) || (!user && messages[i].role != "assistant")) {
      Refuse("conversation roles must alternate user/assistant/user/assistant/... (message " + std::to_string(i + 1) +
             " is '" + messages[i].role + "')");
    }
  }
}

}  // namespace

const char* Name(ChatFormat format) {
  switch (format) {
    case ChatFormat::kLlama2: return "llama2";
    case ChatFormat::kLlama3: return "llama3";
    case ChatFormat::kChatMl: return "chatml";
    case ChatFormat::kMistral: return "mistral";
  }
  return "?";
}

ChatFormat ParseChatFormat(std::string_view name) {
  for (ChatFormat f : {ChatFormat::kLlama2, ChatFormat::kLlama3, ChatFormat::kChatMl, ChatFormat::kMistral}) {
    if (name == Name(f)) return f;
  }
  LANDMARK_THROW("--chat-format: unknown format '" + std::string(name) + "' (expected " + kFamilies + ", or --raw)");
}

ChatTemplate ChatTemplate::Recognise(std::string_view jinja, std::string bos, std::string eos) {
  ChatTemplate t;
  t.bos_ = std::move(bos);
  t.eos_ = std::move(eos);
  Variant& v = t.variant_;
  if (Has(jinja, "<|start_header_id|>")) {
    t.format_ = ChatFormat::kLlama3;
    v.dated_system_header = Has(jinja, "Cutting Knowledge Date");
    v.trim_content = Has(jinja, "message['content'] | trim") || Has(jinja, "message['content']|trim") ||
                     Has(jinja, "message.content | trim") || Has(jinja, "message.content|trim");
  } else if (Has(jinja, "<|im_start|>")) {
    t.format_ = ChatFormat::kChatMl;
    // A constant system prompt the template writes when the conversation has none.
    static const std::regex kDefault(R"(<\|im_start\|>system(?:\\n|\n)([^'"{}]*?)<\|im_end\|>)");
    std::cmatch m;
    const std::string text(jinja);
    if (std::regex_search(text.c_str(), m, kDefault)) {
      std::string s = m[1].str();
      for (size_t at = s.find("\\n"); at != std::string::npos; at = s.find("\\n", at + 1)) s.replace(at, 2, "\n");
      v.default_system = s;
    }
  } else if (Has(jinja, "[INST]")) {
    t.format_ = Has(jinja, "<<SYS>>") ? ChatFormat::kLlama2 : ChatFormat::kMistral;
    v.inst_space = Has(jinja, "' [/INST]'");
    v.trim_content = Has(jinja, "strip()");
    v.system_with_last_user = Has(jinja, "system_message");
    v.assistant_space = Has(jinja, "' ' + message['content']") || Has(jinja, "' '  + content");
  } else {
    Refuse(std::string("the model's template is of no family landmark knows (") + kFamilies +
           "): give --chat-format NAME to use one, or --raw for none");
  }
  return t;
}

ChatTemplate ChatTemplate::FromTokenizer(const Tokenizer& tokenizer) {
  LANDMARK_CHECK_ARG(!tokenizer.chat_template().empty(),
                     tokenizer.path() + ": the tokenizer has no chat template: give --chat-format " + kFamilies +
                         ", or --raw");
  return Recognise(tokenizer.chat_template(), tokenizer.bos_token(), tokenizer.eos_token());
}

ChatTemplate ChatTemplate::FromFormat(ChatFormat format, std::string bos, std::string eos) {
  ChatTemplate t;
  t.format_ = format;
  t.bos_ = std::move(bos);
  t.eos_ = std::move(eos);
  t.variant_.trim_content = format != ChatFormat::kMistral;
  t.variant_.inst_space = format == ChatFormat::kLlama2;
  t.variant_.system_with_last_user = format == ChatFormat::kMistral;
  t.variant_.assistant_space = format == ChatFormat::kMistral;
  return t;
}

std::string ChatTemplate::Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  const Variant& v = variant_;
  std::string out;
  const bool has_system = !messages.empty() && messages[0].role == "system";
  switch (format_) {
    case ChatFormat::kLlama3: {
      out += bos_;
      size_t first = 0;
      if (v.dated_system_header) {
        out += "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: " +
               date_string_ + "\n\n" + (has_system ? Trim(messages[0].content) : "") + "<|eot_id|>";
        first = has_system ? 1 : 0;
      }
      for (size_t i = first; i < messages.size(); ++i) {
        const ChatMessage& m = messages[i];
        out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + (v.trim_content ? Trim(m.content) : m.content) +
               "<|eot_id|>";
      }
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      return out;
    }
    case ChatFormat::kChatMl: {
      if (!has_system && !v.default_system.empty()) out += "<|im_start|>system\n" + v.default_system + "<|im_end|>\n";
      for (const ChatMessage& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      return out;
    }
    case ChatFormat::kLlama2: {
      const size_t first = has_system ? 1 : 0;
      CheckAlternating(messages, first);
      for (size_t i = first; i < messages.size(); ++i) {
        std::string content = messages[i].content;
        if (i == first && has_system) content = "<<SYS>>\n" + messages[0].content + "\n<</SYS>>\n\n" + content;
        if (messages[i].role == "user") {
          out += bos_ + "[INST] " + Trim(content) + " [/INST]";
        } else {
          out += " " + Trim(content) + " " + eos_;
        }
      }
      return out;
    }
    case ChatFormat::kMistral: {
      if (has_system && !v.system_with_last_user) {
        Refuse("this template supports only user and assistant roles (no system message)");
      }
      const size_t first = has_system ? 1 : 0;
      CheckAlternating(messages, first);
      out += bos_;
      const std::string close = v.inst_space ? " [/INST]" : "[/INST]";
      for (size_t i = first; i < messages.size(); ++i) {
        const ChatMessage& m = messages[i];
        if (m.role == "user") {
          const bool with_system = has_system && i + 1 == messages.size();
          out += "[INST] " + (with_system ? messages[0].content + "\n\n" : std::string()) + m.content + close;
        } else {
          out += (v.assistant_space ? " " : "") + m.content + eos_;
        }
      }
      return out;
    }
  }
  return out;
}

}  // namespace landmark
