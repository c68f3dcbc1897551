#include "src/tokenizer/added_tokens.h"

#include <algorithm>
#include <cstdint>

#include "src/tokenizer/normalizer.h"
#include "src/tokenizer/unicode.h"

namespace landmark::tokenizer {
namespace {

// The start of the whitespace `s[..end)` ends with (regex `\s*$`).
size_t TrailingWhitespaceStart(std::string_view s, size_t end) {
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t next = start;
    if (!IsWhitespace(NextCodePoint(s, next))) break;
    end = start;
  }
  return end;
}

// The end of the whitespace starting at s[begin] (regex `^\s*`).
size_t LeadingWhitespaceEnd(std::string_view s, size_t begin) {
  while (begin < s.size()) {
    size_t next = begin;
    if (!IsWhitespace(NextCodePoint(s, next))) break;
    begin = next;
  }
  return begin;
}

bool WordCharBefore(std::string_view s, size_t end) {
  if (end == 0) return false;
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  return IsWordChar(NextCodePoint(s, start));
}

bool WordCharAt(std::string_view s, size_t begin) { return begin < s.size() && IsWordChar(NextCodePoint(s, begin)); }

}  // namespace

void TokenTrie::Add(std::string_view key, int32_t value) {
  if (key.empty()) return;
  empty_ = false;
  int32_t node = root_[static_cast<unsigned char>(key[0])];
  if (node < 0) {
    node = root_[static_cast<unsigned char>(key[0])] = static_cast<int32_t>(nodes_.size());
    nodes_.emplace_back();
  }
  for (size_t i = 1; i < key.size(); ++i) {
    int32_t child = Child(node, static_cast<unsigned char>(key[i]));
    if (child < 0) {
      child = static_cast<int32_t>(nodes_.size());
      nodes_[node].next.emplace_back(static_cast<unsigned char>(key[i]), child);
      nodes_.emplace_back();
    }
    node = child;
  }
  nodes_[node].value = value;
}

int32_t TokenTrie::Child(int32_t node, unsigned char byte) const {
  for (const auto& [b, child] : nodes_[node].next) {
    if (b == byte) return child;
  }
  return -1;
}

int32_t TokenTrie::LongestAt(std::string_view text, size_t at, size_t& length) const {
  int32_t node = root_[static_cast<unsigned char>(text[at])];
  int32_t best = -1;
  for (size_t i = at + 1; node >= 0; ++i) {
    if (nodes_[node].value >= 0) {
      best = nodes_[node].value;
      length = i - at;
    }
    if (i == text.size()) break;
    node = Child(node, static_cast<unsigned char>(text[i]));
  }
  return best;
}

void AddedVocabulary::Parse(const Json& array, const Where& where, const Bpe& model, const Normalizer* normalizer) {
  AsArray(array, where);
  int32_t next_id = static_cast<int32_t>(model.size());
  for (size_t i = 0; i < array.size(); ++i) {
    const Where w = where[i];
    AddedToken t;
    t.content = StringMember(array[i], "content", w);
    const int64_t file_id = AsInt(Member(array[i], "id", w), w / "id");
    t.special = BoolMember(array[i], "special", w, false);
    t.single_word = BoolMember(array[i], "single_word", w, false);
    t.lstrip = BoolMember(array[i], "lstrip", w, false);
    t.rstrip = BoolMember(array[i], "rstrip", w, false);
    t.normalized = BoolMember(array[i], "normalized", w, !t.special);
    if (t.content.empty()) continue;  // `tokenizers` ignores these
    const int32_t known = TokenId(t.content);
    t.id = known >= 0 ? known : model.TokenId(t.content) >= 0 ? model.TokenId(t.content) : next_id++;
    if (file_id != t.id) {
      w.Fail("token '" + t.content + "' has id " + std::to_string(file_id) + ", but `tokenizers` gives it id " +
             std::to_string(t.id) + " (the model's id for a token it holds, else the next after " +
             std::to_string(model.size()) + " vocabulary entries)");
    }
    t.matched = t.content;
    if (t.normalized && normalizer != nullptr) {
      NormalizedString n = NormalizedString::Original(t.content);
      normalizer->Normalize(n);
      t.matched = n.text;
    }
    by_content_[t.content] = t.id;
    if (t.special) special_contents_[t.content] = true;
    end_id_ = std::max(end_id_, t.id + 1);
    if (const auto it = by_id_.find(t.id); it != by_id_.end()) {
      tokens_[it->second] = std::move(t);  // the same content again: the later flags win
    } else {
      by_id_.emplace(t.id, tokens_.size());
      tokens_.push_back(std::move(t));
    }
  }
  for (size_t k = 0; k < tokens_.size(); ++k) {
    (tokens_[k].normalized ? normalized_ : raw_).Add(tokens_[k].matched, static_cast<int32_t>(k));
  }
}

const AddedToken* AddedVocabulary::Find(int32_t id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

int32_t AddedVocabulary::TokenId(std::string_view content) const {
  const auto it = by_content_.find(content);
  return it == by_content_.end() ? -1 : it->second;
}

bool AddedVocabulary::IsSpecialContent(std::string_view token) const {
  return special_contents_.find(token) != special_contents_.end();
}

void AddedVocabulary::Split(NormalizedString text, bool normalized, bool parse_special,
                            std::vector<Segment>& out) const {
  if (text.empty()) return;
  const TokenTrie& trie = normalized ? normalized_ : raw_;
  const std::string& s = text.text;
  size_t done = 0;  // bytes of `text` already in `out`
  if (!trie.empty()) {
    // Leftmost-longest matches, not overlapping (the search goes on after
    // a match even when it is then passed over, as `tokenizers`' does).
    for (size_t at = 0; at < s.size();) {
      size_t length = 0;
      const int32_t index = trie.LongestAt(s, at, length);
      if (index < 0) {
        ++at;
        continue;
      }
      size_t start = at, stop = at + length;
      at = stop;
      const AddedToken& t = tokens_[index];
      if (!parse_special && IsSpecialContent(t.content)) continue;
      if (t.single_word && (WordCharBefore(s, start) || WordCharAt(s, stop))) continue;
      if (t.lstrip) start = TrailingWhitespaceStart(s, start);
      if (t.rstrip) stop = LeadingWhitespaceEnd(s, stop);
      start = std::max(start, done);  // only an odd token of whitespace can reach back past the last one
      if (stop <= start) continue;
      if (done < start) out.push_back({text.Slice(done, start), -1});
      out.push_back({text.Slice(start, stop), t.id});
      done = stop;
    }
  }
  if (done == 0) {
    out.push_back({std::move(text), -1});
  } else if (done < s.size()) {
    out.push_back({text.Slice(done, s.size()), -1});
  }
}

}  // namespace landmark::tokenizer
