#include "src/tokenizer/normalizer.h"

#include <utf8proc.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "landmark/error.h"
#include "src/tokenizer/byte_level.h"
#include "src/tokenizer/pattern.h"
#include "src/tokenizer/unicode.h"

namespace landmark::tokenizer {
namespace {

bool IsAscii(char c) { return static_cast<unsigned char>(c) < 0x80; }

std::string Utf8procMap(std::string_view s, int options) {
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()), static_cast<utf8proc_ssize_t>(s.size()), &out,
                   static_cast<utf8proc_option_t>(options));
  LANDMARK_ASSERT(n >= 0);  // the input was checked to be valid UTF-8
  std::string result(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
  std::free(out);
  return result;
}

// NFC, NFD, NFKC, NFKD. ASCII is unchanged by all four, and a combining
// sequence starts at most one character before the non-ASCII run it is in,
// so only those regions go through utf8proc. Within a changed region each
// combining sequence (a starter and the marks after it) is mapped on its
// own, and its output bytes take the offset of the sequence's first byte;
// if mapping them one by one differs from mapping the region (Hangul jamo,
// rare starter pairs) the whole region takes the offset of its start.
class UnicodeForm : public Normalizer {
 public:
  explicit UnicodeForm(int options) : options_(options | UTF8PROC_STABLE) {}

  void Normalize(NormalizedString& s) const override {
    const std::string& t = s.text;
    size_t i = 0;
    while (i < t.size() && IsAscii(t[i])) ++i;
    if (i == t.size()) return;
    NormalizedBuilder out(s);
    size_t done = 0;
    while (i < t.size()) {
      if (IsAscii(t[i])) {
        ++i;
        continue;
      }
      const size_t begin = i > done ? i - 1 : i;  // the ASCII starter marks may compose with
      size_t end = i;
      while (end < t.size() && !IsAscii(t[end])) ++end;
      out.Copy(done, begin);
      MapRegion(s, begin, end, out);
      done = i = end;
    }
    out.Copy(done, t.size());
    s = out.Finish();
  }

 private:
  void MapRegion(const NormalizedString& s, size_t begin, size_t end, NormalizedBuilder& out) const {
    const std::string_view region(s.text.data() + begin, end - begin);
    const std::string whole = Utf8procMap(region, options_);
    if (whole == region) {
      out.Copy(begin, end);
      return;
    }
    std::vector<size_t> starts;  // combining sequences, as offsets in s.text
    for (size_t k = begin; k < end;) {
      const size_t at = k;
      const char32_t c = NextCodePoint(s.text, k);
      if (starts.empty() || utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class == 0) {
        starts.push_back(at);
      }
    }
    starts.push_back(end);
    std::vector<std::string> pieces(starts.size() - 1);
    std::string joined;
    for (size_t k = 0; k + 1 < starts.size(); ++k) {
      pieces[k] = Utf8procMap(std::string_view(s.text).substr(starts[k], starts[k + 1] - starts[k]), options_);
      joined += pieces[k];
    }
    if (joined != whole) {
      out.Write(whole, begin);
      return;
    }
    for (size_t k = 0; k + 1 < starts.size(); ++k) {
      if (std::string_view(s.text).substr(starts[k], starts[k + 1] - starts[k]) == pieces[k]) {
        out.Copy(starts[k], starts[k + 1]);
      } else {
        out.Write(pieces[k], starts[k]);
      }
    }
  }

  int options_;
};

// Rust's char::to_lowercase: the full mapping, where only U+0130 (İ) maps
// to two characters.
class Lowercase : public Normalizer {
 public:
  void Normalize(NormalizedString& s) const override {
    NormalizedBuilder out(s);
    std::string lower;
    for (size_t i = 0; i < s.text.size();) {
      const size_t at = i;
      const char32_t c = NextCodePoint(s.text, i);
      const char32_t l = c < 0x80 ? ((c >= 'A' && c <= 'Z') ? c + 32 : c)
                                  : static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
      if (l == c) {
        out.Copy(at, i);
        continue;
      }
      lower.clear();
      AppendUtf8(lower, l);
      if (c == 0x130) AppendUtf8(lower, 0x307);
      out.Write(lower, at);
    }
    s = out.Finish();
  }
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void Normalize(NormalizedString& s) const override {
    size_t begin = 0, end = s.text.size();
    while (left_ && begin < end) {
      size_t next = begin;
      if (!IsWhitespace(NextCodePoint(s.text, next))) break;
      begin = next;
    }
    while (right_ && end > begin) {
      size_t start = end - 1;
      while (start > begin && (static_cast<unsigned char>(s.text[start]) & 0xC0) == 0x80) --start;
      size_t next = start;
      if (!IsWhitespace(NextCodePoint(s.text, next))) break;
      end = start;
    }
    if (begin != 0 || end != s.text.size()) s = s.Slice(begin, end);
  }

 private:
  bool left_, right_;
};

class StripAccents : public Normalizer {
 public:
  void Normalize(NormalizedString& s) const override {
    NormalizedBuilder out(s);
    for (size_t i = 0; i < s.text.size();) {
      const size_t at = i;
      if (!IsCombiningMark(NextCodePoint(s.text, i))) out.Copy(at, i);
    }
    s = out.Finish();
  }
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void Normalize(NormalizedString& s) const override {
    if (s.empty()) return;
    NormalizedBuilder out(s);
    out.Write(prefix_, 0);
    out.Copy(0, s.text.size());
    s = out.Finish();
  }

 private:
  std::string prefix_;
};

class Replace : public Normalizer {
 public:
  Replace(Pattern pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void Normalize(NormalizedString& s) const override {
    std::vector<Span> matches;
    pattern_.FindAll(s.text, matches);
    if (matches.empty() || s.empty()) return;
    NormalizedBuilder out(s);
    size_t done = 0;
    for (const Span& m : matches) {
      out.Copy(done, m.first);
      out.Write(content_, m.first);
      done = m.second;
    }
    out.Copy(done, s.text.size());
    s = out.Finish();
  }

 private:
  Pattern pattern_;
  std::string content_;
};

// Every byte as its character of the byte-level alphabet.
class ByteLevel : public Normalizer {
 public:
  void Normalize(NormalizedString& s) const override {
    NormalizedBuilder out(s);
    for (size_t i = 0; i < s.text.size(); ++i) out.Write(ByteToChar(static_cast<uint8_t>(s.text[i])), i);
    s = out.Finish();
  }
};

class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  void Normalize(NormalizedString& s) const override {
    for (const auto& step : steps_) step->Normalize(s);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

std::unique_ptr<Normalizer> ParseNormalizer(const Json& node, const Where& where, int depth) {
  CheckNesting(depth, "normalizer", where);
  const std::string type = TypeOf(node, where);
  if (type == "NFC") return std::make_unique<UnicodeForm>(UTF8PROC_COMPOSE);
  if (type == "NFD") return std::make_unique<UnicodeForm>(UTF8PROC_DECOMPOSE);
  if (type == "NFKC") return std::make_unique<UnicodeForm>(UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
  if (type == "NFKD") return std::make_unique<UnicodeForm>(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "ByteLevel") return std::make_unique<ByteLevel>();
  if (type == "Strip") {
    return std::make_unique<Strip>(BoolMember(node, "strip_left", where), BoolMember(node, "strip_right", where));
  }
  if (type == "Prepend") return std::make_unique<Prepend>(StringMember(node, "prepend", where));
  if (type == "Replace") {
    return std::make_unique<Replace>(ParsePattern(Member(node, "pattern", where), where / "pattern"),
                                     StringMember(node, "content", where));
  }
  if (type == "Sequence") {
    return std::make_unique<Sequence>(
        ParseSteps<Normalizer>(node, "normalizers", where,
                               [depth](const Json& n, const Where& w) { return ParseNormalizer(n, w, depth + 1); }));
  }
  Unsupported("normalizer", type,
              "NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Prepend, Replace, ByteLevel and Sequence", where);
}

}  // namespace landmark::tokenizer
