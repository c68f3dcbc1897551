#define PCRE2_CODE_UNIT_WIDTH 8
#include "src/tokenizer/pattern.h"

#include <pcre2.h>

#include "landmark/error.h"
#include "src/tokenizer/json_fields.h"
#include "src/tokenizer/unicode.h"

namespace landmark::tokenizer {
namespace {

// Per thread: the JIT stack (PCRE2's default 32 KiB can run out on long
// runs of backtracking alternatives) and the match data, reused by every
// search.
struct MatchScratch {
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 << 10, 8 << 20, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);  // the whole match is all we read
  MatchScratch() {
    LANDMARK_ASSERT(context != nullptr && data != nullptr);
    if (stack != nullptr) pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~MatchScratch() {
    pcre2_match_data_free(data);
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
  }
};

std::string Pcre2Message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

size_t NextBoundary(std::string_view text, size_t i) {
  return i < text.size() ? i + SequenceLength(static_cast<unsigned char>(text[i])) : i + 1;
}

}  // namespace

// Oniguruma's meaning of the escapes whose PCRE2 meaning differs: \s is
// White_Space (PCRE2's also takes U+180E), \w is Alphabetic, marks, Nd, Pc
// and joiners (PCRE2's is \p{L}\p{N}_), \h is a hex digit (PCRE2's is
// horizontal space). \W and \H inside a [class] keep PCRE2's meaning (a
// class cannot hold a negated set); \Q..\E is copied as it is.
std::string OnigurumaToPcre2(std::string_view regex) {
  constexpr std::string_view kWord = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}", kHex = "0-9a-fA-F";
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < regex.size(); ++i) {
    const char c = regex[i];
    if (c == '\\' && i + 1 < regex.size()) {
      const char e = regex[++i];
      const auto set = [&](std::string_view members, bool negated) {
        out += in_class ? std::string(members) : std::string(negated ? "[^" : "[") + std::string(members) + "]";
      };
      if (e == 's' || e == 'S') {
        out += e == 's' ? "\\p{White_Space}" : "\\P{White_Space}";
      } else if ((e == 'w' || e == 'h') || (!in_class && (e == 'W' || e == 'H'))) {
        set(e == 'w' || e == 'W' ? kWord : kHex, e == 'W' || e == 'H');
      } else if (e == 'Q') {
        const size_t end = regex.find("\\E", i + 1);
        out += regex.substr(i - 1, end == std::string_view::npos ? std::string_view::npos : end + 2 - (i - 1));
        if (end == std::string_view::npos) break;
        i = end + 1;
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (in_class && c == '[' && i + 1 < regex.size() && regex[i + 1] == ':') {  // [:alpha:]
      const size_t end = regex.find(":]", i + 2);
      if (end != std::string_view::npos) {
        out += regex.substr(i, end + 2 - i);
        i = end + 1;
        continue;
      }
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < regex.size() && regex[i + 1] == '^') out += regex[++i];
      if (i + 1 < regex.size() && regex[i + 1] == ']') out += regex[++i];  // a leading ']' is literal
      continue;
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

Pattern Pattern::Literal(std::string text) {
  Pattern p;
  p.literal_ = std::move(text);
  return p;
}

Pattern Pattern::Regex(const std::string& regex, const std::string& where) {
  Pattern p;
  p.where_ = where;
  int error = 0;
  PCRE2_SIZE offset = 0;
  const std::string pcre2 = OnigurumaToPcre2(regex);
  p.code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pcre2.data()), pcre2.size(), PCRE2_UTF | PCRE2_UCP, &error,
                          &offset, nullptr);
  if (p.code_ == nullptr) {
    LANDMARK_THROW(where + ": bad regex (" + Pcre2Message(error) + ", at offset " + std::to_string(offset) + " of /" +
                   pcre2 + "/)");
  }
  pcre2_jit_compile(p.code_, PCRE2_JIT_COMPLETE);  // failure leaves the interpreter, same results
  return p;
}

Pattern::~Pattern() { pcre2_code_free(code_); }
Pattern::Pattern(Pattern&& other) noexcept
    : literal_(std::move(other.literal_)), code_(other.code_), where_(std::move(other.where_)) {
  other.code_ = nullptr;
}
Pattern& Pattern::operator=(Pattern&& other) noexcept {
  if (this != &other) {
    pcre2_code_free(code_);
    literal_ = std::move(other.literal_);
    code_ = other.code_;
    where_ = std::move(other.where_);
    other.code_ = nullptr;
  }
  return *this;
}

void Pattern::FindAll(std::string_view text, std::vector<Span>& matches) const {
  matches.clear();
  if (code_ == nullptr && !literal_.empty()) {
    for (size_t at = text.find(literal_); at != std::string_view::npos;
         at = text.find(literal_, at + literal_.size())) {
      matches.emplace_back(at, at + literal_.size());
    }
    return;
  }
  // A regex (or the empty literal, which `tokenizers` compiles to the empty
  // regex: an empty match at every character boundary).
  thread_local MatchScratch scratch;
  size_t start = 0;
  bool have_last = false;
  size_t last_end = 0;
  while (start <= text.size()) {
    size_t begin, end;
    if (code_ == nullptr) {
      begin = end = start;
    } else {
      const int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start,
                                 PCRE2_NO_UTF_CHECK, scratch.data, scratch.context);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) LANDMARK_THROW(where_ + ": regex match failed: " + Pcre2Message(rc));
      const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(scratch.data);
      begin = ovector[0];
      end = ovector[1];
      if (end < begin) end = begin;  // \K in a lookahead can report that; never split backwards
    }
    if (begin == end) {
      start = NextBoundary(text, end);
      if (have_last && end == last_end) continue;
    } else {
      start = end;
    }
    have_last = true;
    last_end = end;
    matches.emplace_back(begin, end);
  }
}

Pattern ParsePattern(const Json& node, const Where& where) {
  AsObject(node, where);
  if (node.size() == 1 && node.contains("String")) return Pattern::Literal(AsString(node["String"], where / "String"));
  if (node.size() == 1 && node.contains("Regex")) {
    return Pattern::Regex(AsString(node["Regex"], where / "Regex"), (where / "Regex").Describe());
  }
  where.Fail("expected {\"String\": ...} or {\"Regex\": ...}");
}

std::vector<std::pair<Span, bool>> MatchesAndGaps(std::string_view text, const std::vector<Span>& matches) {
  std::vector<std::pair<Span, bool>> out;
  if (text.empty()) {
    out.push_back({{0, 0}, false});
    return out;
  }
  out.reserve(2 * matches.size() + 1);
  size_t previous = 0;
  for (const Span& m : matches) {
    if (previous != m.first) out.push_back({{previous, m.first}, false});
    out.push_back({m, true});
    previous = m.second;
  }
  if (previous != text.size()) out.push_back({{previous, text.size()}, false});
  return out;
}

}  // namespace landmark::tokenizer
