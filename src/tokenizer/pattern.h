// The patterns of Split pre-tokenizers and Replace normalizers/decoders:
// a literal string or a regex. `tokenizers` compiles regexes with
// Oniguruma; landmark with PCRE2 in UTF + UCP mode (\p{..} and lookaround
// as Oniguruma has them; \s, \w, \h rewritten to Oniguruma's meaning),
// JIT-compiled when the platform allows.
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pcre2_real_code_8;

namespace landmark::tokenizer {

using Span = std::pair<size_t, size_t>;  // [begin, end) in bytes

class Pattern {
 public:
  static Pattern Literal(std::string text);
  // Throws landmark::Error "<where>: bad regex ..." naming the offset and PCRE2's reason.
  static Pattern Regex(const std::string& regex, const std::string& where);
  ~Pattern();
  Pattern(Pattern&&) noexcept;
  Pattern& operator=(Pattern&&) noexcept;

  // Non-overlapping matches, left to right, as the Rust iterators
  // `tokenizers` uses produce them (an empty match is not accepted right
  // where the previous match ended). `text` is valid UTF-8.
  void FindAll(std::string_view text, std::vector<Span>& matches) const;

 private:
  Pattern() = default;
  std::string literal_;
  pcre2_real_code_8* code_ = nullptr;
  std::string where_;  // for match-time errors (backtracking limits)
};

class Where;

// {"String": "..."} or {"Regex": "..."}, as Split and Replace hold them.
Pattern ParsePattern(const nlohmann::json& node, const Where& where);

// [begin, end) spans covering all of `text`, each flagged when it is a match
// (`tokenizers`' Pattern::find_matches); one unmatched span for "" text.
std::vector<std::pair<Span, bool>> MatchesAndGaps(std::string_view text, const std::vector<Span>& matches);

// An Oniguruma regex written for PCRE2 (exposed for tests).
std::string OnigurumaToPcre2(std::string_view regex);

}  // namespace landmark::tokenizer
