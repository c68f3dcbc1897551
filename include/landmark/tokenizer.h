// Tokenizers of pretrained LLMs, read from a Hugging Face `tokenizer.json`
// (the `tokenizers` library's format), and their chat templates.
//
//   Tokenizer t = Tokenizer::FromDirectory("Qwen2.5-0.5B-Instruct");
//   std::vector<int32_t> ids = t.Encode("Hello");              // post-processor too (BOS)
//   std::string text = t.Decode(ids);
//   ChatTemplate chat = ChatTemplate::FromTokenizer(t);        // recognised family
//   std::string prompt = chat.Render({{"user", "Hi"}}, true);  // then Encode(prompt, {.add_special = false})
//
// Models: BPE, byte-level (GPT-2 / Llama 3 / Qwen: pre-tokenizer regex, bytes
// mapped to printable characters) or SentencePiece-style (▁ for spaces, byte
// fallback to <0xNN> pieces: Llama 2, Mistral, TinyLlama). Normalizers,
// pre-tokenizers, post-processors and decoders are the subset real LLM
// tokenizers use; anything else is an error naming the file and the type.
// Ids match `tokenizers`' Encode exactly (tests/data/llm/tokenizers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace landmark {

struct EncodeOptions {
  // Apply the post-processor (e.g. Llama's BOS); `tokenizers`' add_special_tokens.
  bool add_special = true;
  // Added tokens marked special (<|im_start|>, <s>, ...) written in the text
  // are read as those tokens. Off for documents: a document cannot inject
  // control tokens; its "<|im_end|>" is encoded as ordinary text
  // (`tokenizers`' encode_special_tokens = true). Non-special added tokens
  // are matched either way.
  bool parse_special = true;
};

class Tokenizer {
 public:
  // tokenizer.json; throws landmark::Error naming the file and what is wrong
  // (unknown model/normalizer/pre-tokenizer/decoder type, bad regex, ...).
  static Tokenizer FromFile(const std::string& tokenizer_json);
  // A model directory: tokenizer.json, plus tokenizer_config.json (bos/eos
  // tokens, chat_template) and chat_template.jinja when present.
  static Tokenizer FromDirectory(const std::string& dir);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // `offsets`, when given, receives for each id the byte offset in `text`
  // where its token begins (tokens the post-processor adds: the offset of
  // the next token, or text.size()). Exact where normalization keeps the
  // text (byte-level and SentencePiece tokenizers: a token that starts
  // inside a character, a byte-fallback or byte-level piece of it, gets that
  // byte's offset); a token that begins inside a combining sequence NFC
  // (or NFD, NFKC, NFKD) changed gets the offset of the sequence.
  // O(n log n) in the text at worst (a document of many MB is encoded whole,
  // even as one BPE word); safe to call from many threads. `text` that is not
  // UTF-8 is an error naming the byte.
  std::vector<int32_t> Encode(std::string_view text, const EncodeOptions& options = {},
                              std::vector<size_t>* offsets = nullptr) const;
  // Ids out of range are an error. skip_special drops special added tokens.
  std::string Decode(const std::vector<int32_t>& ids, bool skip_special = false) const;

  size_t vocab_size() const;                 // the largest id + 1, added tokens included
  // The vocabulary entry ("Ġthe", "<0x0A>", "<|im_end|>"); an error for an
  // id the vocabulary does not hold.
  std::string TokenString(int32_t id) const;
  int32_t TokenId(std::string_view token) const;  // -1 if absent
  bool IsSpecial(int32_t id) const;

  // From tokenizer_config.json (or -1 / empty when absent).
  int32_t bos_id() const;
  int32_t eos_id() const;
  const std::string& bos_token() const;
  const std::string& eos_token() const;
  const std::string& chat_template() const;  // the Jinja text, "" when none
  const std::string& path() const;           // tokenizer.json's path

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Decodes a stream of generated ids piece by piece: Next(id) returns the
// text that is complete so far (holding back an incomplete UTF-8 sequence or
// byte-fallback run: text that ends in U+FFFD), Flush() the rest. The pieces
// joined are Decode(all ids), unless the ids hold byte runs that are not
// UTF-8. Like `tokenizers`' DecodeStream it decodes a window of the last
// ids only, so a step costs O(1) amortized.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special = true);
  std::string Next(int32_t id);
  std::string Flush();

 private:
  std::string DecodePending() const;  // the ids not yet returned, on their own

  const Tokenizer& tokenizer_;
  bool skip_special_;
  std::vector<int32_t> ids_;  // the window: context ids, then ids not yet returned
  std::string prefix_;        // Decode of the context ids, already returned
  size_t prefix_index_ = 0;   // where the ids not yet returned begin in ids_
};

// Chat prompt formats. landmark does not run Jinja: it recognises the family
// of a model's template from its text and renders that family's format
// (exactly as transformers' apply_chat_template renders the real templates
// of tests/data/llm/chat/templates.json).
enum class ChatFormat : uint8_t {
  kLlama2,   // <s>[INST] <<SYS>>\n..\n<</SYS>>\n\n.. [/INST]
  kLlama3,   // <|start_header_id|>role<|end_header_id|>\n\n..<|eot_id|> (3.1+: the dated system header)
  kChatMl,   // <|im_start|>role\n..<|im_end|>\n (Qwen, SmolLM; default system prompt read from the template)
  kMistral,  // <s>[INST] .. [/INST] (v0.1) and [INST] ..[/INST] (v0.3)
};
const char* Name(ChatFormat format);            // "llama2" | "llama3" | "chatml" | "mistral"
ChatFormat ParseChatFormat(std::string_view name);  // error lists the choices

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
};

class ChatTemplate {
 public:
  // Recognises the family of `jinja` (the template text); throws
  // landmark::Error listing the supported families when none matches.
  static ChatTemplate Recognise(std::string_view jinja, std::string bos_token, std::string eos_token);
  // The tokenizer's own template (error when it has none: use --raw or --chat-format).
  static ChatTemplate FromTokenizer(const Tokenizer& tokenizer);
  // A family forced by name (--chat-format), in its most common variant.
  static ChatTemplate FromFormat(ChatFormat format, std::string bos_token, std::string eos_token);

  ChatFormat format() const { return format_; }
  // The prompt text, special tokens written out (encode it with
  // parse_special = true, add_special = false). Errors for conversations the
  // family refuses (roles not alternating, a system message where none is allowed).
  std::string Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;
  // "Today Date: .." of Llama 3.1+ templates (default "26 Jul 2024", the templates' own).
  void set_date_string(std::string date) { date_string_ = std::move(date); }

  struct Variant {  // what Recognise read from the template text
    std::string default_system;  // chatml: the system prompt used when none is given
    bool dated_system_header = false;  // llama3.1+
    bool trim_content = true;          // llama3: message content | trim; mistral: answers | trim
    bool inst_space = true;            // mistral: ' [/INST]' (v0.1) or '[/INST]' (v0.3)
    bool system_with_last_user = false;  // mistral v0.3: the system prompt joins the last user message
                                         // (v0.1 has no system role: roles alternate from the first)
    bool assistant_space = false;        // mistral v0.3: ' ' + answer + eos (v0.1: the answer alone)
  };
  const Variant& variant() const { return variant_; }

 private:
  ChatFormat format_ = ChatFormat::kChatMl;
  Variant variant_;
  std::string bos_, eos_, date_string_ = "26 Jul 2024";
};

}  // namespace landmark
