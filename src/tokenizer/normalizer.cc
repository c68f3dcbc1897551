// Normalizers: NFC/NFKC/NFD/NFKD (utf8proc), Prepend, Replace, Lowercase,
// Strip, Sequence. Each keeps the origin of every output byte.
#include <utf8proc.h>

#include <nlohmann/json.hpp>

#include "landmark/error.h"
#include "src/tokenizer/components.h"
#include "src/tokenizer/regex.h"

namespace landmark::tokenizer {
namespace {

using json = nlohmann::json;

// Unicode normalization run by run: an ASCII byte never composes with what
// precedes it, so each run (one character, then the non-ASCII ones after
// it) is normalized alone; unchanged runs keep exact origins, changed ones
// map every output byte to the run's first input byte.
class UnicodeForm : public Normalizer {
 public:
  explicit UnicodeForm(utf8proc_option_t options) : options_(options) {}
  void Apply(Piece& p) const override {
    bool ascii = true;
    for (char c : p.text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
    if (ascii) return;
    Piece out;
    out.first = p.first;
    size_t i = 0;
    while (i < p.text.size()) {
      size_t end = i + Utf8Length(static_cast<unsigned char>(p.text[i]));
      while (end < p.text.size() && static_cast<unsigned char>(p.text[end]) >= 0x80) {
        end += Utf8Length(static_cast<unsigned char>(p.text[end]));
      }
      end = std::min(end, p.text.size());
      utf8proc_uint8_t* mapped = nullptr;
      const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(p.text.data() + i),
                                              utf8proc_ssize_t(end - i), &mapped, options_);
      if (n < 0 || (size_t(n) == end - i && std::equal(p.text.begin() + long(i), p.text.begin() + long(end),
                                                        reinterpret_cast<const char*>(mapped)))) {
        out.Append(p, i, end);
      } else {
        out.Append(std::string_view(reinterpret_cast<const char*>(mapped), size_t(n)), p.origin[i]);
      }
      std::free(mapped);
      i = end;
    }
    p = std::move(out);
  }

 private:
  utf8proc_option_t options_;
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string s) : s_(std::move(s)) {}
  void Apply(Piece& p) const override {
    if (p.text.empty()) return;
    Piece out;
    out.first = p.first;
    out.Append(s_, p.origin[0]);
    out.Append(p, 0, p.text.size());
    p = std::move(out);
  }

 private:
  std::string s_;
};

class Replace : public Normalizer {
 public:
  Replace(const json& pattern, std::string content, const std::string& where) : content_(std::move(content)) {
    LANDMARK_CHECK_ARG(pattern.is_object(), where + ": Replace.pattern must be an object");
    if (pattern.contains("String")) {
      literal_ = JsonString(pattern, "String", where);
      LANDMARK_CHECK_ARG(!literal_.empty(), where + ": Replace of an empty string");
    } else {
      regex_ = std::make_unique<Regex>(JsonString(pattern, "Regex", where), where);
    }
  }
  void Apply(Piece& p) const override {
    std::vector<std::pair<size_t, size_t>> matches;
    if (regex_) {
      matches = regex_->FindAll(p.text);
    } else {
      for (size_t at = p.text.find(literal_); at != std::string::npos; at = p.text.find(literal_, at + literal_.size())) {
        matches.push_back({at, at + literal_.size()});
      }
    }
    if (matches.empty()) return;
    Piece out;
    out.first = p.first;
    size_t done = 0;
    for (auto [b, e] : matches) {
      out.Append(p, done, b);
      out.Append(content_, p.origin[b]);
      done = e;
    }
    out.Append(p, done, p.text.size());
    p = std::move(out);
  }

 private:
  std::string literal_, content_;
  std::unique_ptr<Regex> regex_;
};

class Lowercase : public Normalizer {
 public:
  void Apply(Piece& p) const override {
    Piece out;
    out.first = p.first;
    size_t i = 0;
    while (i < p.text.size()) {
      const size_t at = i;
      const char32_t c = DecodeUtf8(p.text, i);
      std::string s;
      EncodeUtf8(char32_t(utf8proc_tolower(utf8proc_int32_t(c))), s);
      out.Append(s, p.origin[at]);
    }
    p = std::move(out);
  }
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void Apply(Piece& p) const override {
    size_t b = 0, e = p.text.size();
    while (left_ && b < e) {
      size_t i = b;
      if (!IsWhitespace(DecodeUtf8(p.text, i))) break;
      b = i;
    }
    while (right_ && e > b) {
      size_t start = e - 1;
      while (start > b && (static_cast<unsigned char>(p.text[start]) & 0xC0) == 0x80) --start;
      size_t i = start;
      if (!IsWhitespace(DecodeUtf8(p.text, i))) break;
      e = start;
    }
    p = p.Slice(b, e);
  }

 private:
  bool left_, right_;
};

class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  void Apply(Piece& p) const override {
    for (const auto& s : steps_) s->Apply(p);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

std::string JsonString(const json& j, const char* key, const std::string& where) {
  LANDMARK_CHECK_ARG(j.is_object() && j.contains(key) && j[key].is_string(),
                     where + ": '" + key + "' missing or not a string");
  return j[key].get<std::string>();
}

const json& JsonMember(const json& j, const char* key, const std::string& where) {
  LANDMARK_CHECK_ARG(j.is_object() && j.contains(key), where + ": '" + key + "' missing");
  return j[key];
}

std::unique_ptr<Normalizer> ParseNormalizer(const json& j, const std::string& where) {
  if (j.is_null()) return nullptr;
  const std::string type = JsonString(j, "type", where);
  const std::string at = where + " (normalizer " + type + ")";
  const auto options = [](int extra) { return utf8proc_option_t(UTF8PROC_STABLE | extra); };
  if (type == "NFC") return std::make_unique<UnicodeForm>(options(UTF8PROC_COMPOSE));
  if (type == "NFD") return std::make_unique<UnicodeForm>(options(UTF8PROC_DECOMPOSE));
  if (type == "NFKC") return std::make_unique<UnicodeForm>(options(UTF8PROC_COMPOSE | UTF8PROC_COMPAT));
  if (type == "NFKD") return std::make_unique<UnicodeForm>(options(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT));
  if (type == "Prepend") return std::make_unique<Prepend>(JsonString(j, "prepend", at));
  if (type == "Replace") return std::make_unique<Replace>(JsonMember(j, "pattern", at), JsonString(j, "content", at), at);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Strip") {
    const bool left = j.value("strip_left", true), right = j.value("strip_right", true);
    return std::make_unique<Strip>(left, right);
  }
  if (type == "Sequence") {
    const json& list = JsonMember(j, "normalizers", at);
    LANDMARK_CHECK_ARG(list.is_array(), at + ": 'normalizers' must be a list");
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (const json& step : list) {
      auto s = ParseNormalizer(step, where);
      if (s) steps.push_back(std::move(s));
    }
    return std::make_unique<Sequence>(std::move(steps));
  }
  LANDMARK_THROW(where + ": normalizer type '" + type +
                 "' is not supported (NFC, NFD, NFKC, NFKD, Prepend, Replace, Lowercase, Strip, Sequence)");
}

}  // namespace landmark::tokenizer
