// Added tokens (tokenizer.json's added_tokens: <|im_start|>, <s>, tool
// tags, ...): found in the text before anything else, longest first, and
// encoded as themselves; the text between them goes through the normalizer,
// pre-tokenizer and model. Tokens marked `normalized` are looked for in the
// normalized text, the others in the raw text (`tokenizers`' AddedVocabulary).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "src/tokenizer/bpe.h"
#include "src/tokenizer/json_fields.h"
#include "src/tokenizer/normalized_string.h"

namespace landmark::tokenizer {

class Normalizer;

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool single_word = false;  // only where no word character touches it
  bool lstrip = false;       // takes the whitespace before it
  bool rstrip = false;       // takes the whitespace after it
  bool normalized = false;   // matched in normalized text (as normalizing its content gives)
  std::string matched;       // what is looked for: content, or content normalized
};

// A piece of the input: text, or an added token with the text it covers.
struct Segment {
  NormalizedString text;
  int32_t token = -1;
};

// Byte strings and the longest of them that starts at a given position.
class TokenTrie {
 public:
  TokenTrie() { root_.fill(-1); }
  void Add(std::string_view key, int32_t value);
  bool empty() const { return empty_; }
  // The value of the longest key starting at text[at] (-1 if none), its length in `length`.
  int32_t LongestAt(std::string_view text, size_t at, size_t& length) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> next;
    int32_t value = -1;
  };
  int32_t Child(int32_t node, unsigned char byte) const;
  std::array<int32_t, 256> root_;
  std::vector<Node> nodes_;
  bool empty_ = true;
};

class AddedVocabulary {
 public:
  // tokenizer.json's added_tokens, ids given as `tokenizers` gives them
  // (the model's id for a token it holds, else the next free id after the
  // model's); a file whose ids disagree with that is an error.
  void Parse(const Json& array, const Where& where, const Bpe& model, const Normalizer* normalizer);

  // Splits `text` at the tokens matched in raw text (`normalized` false) or
  // in normalized text. With `parse_special` false, special tokens are
  // left as text (`tokenizers`' encode_special_tokens).
  void Split(NormalizedString text, bool normalized, bool parse_special, std::vector<Segment>& out) const;

  const AddedToken* Find(int32_t id) const;
  int32_t TokenId(std::string_view content) const;  // -1 when absent
  // Whether `token` is the content of a special token (how `tokenizers`
  // decides what skip_special_tokens drops).
  bool IsSpecialContent(std::string_view token) const;
  int32_t end_id() const { return end_id_; }  // the largest id + 1 (0 when none)

 private:
  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> by_id_;
  StringMap<int32_t> by_content_;
  StringMap<bool> special_contents_;
  TokenTrie raw_, normalized_;  // values: indices into tokens_
  int32_t end_id_ = 0;
};

}  // namespace landmark::tokenizer
