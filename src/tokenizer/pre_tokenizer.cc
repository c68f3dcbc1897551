// Pre-tokenizers: Split (regex or string, the five delimiter behaviours),
// ByteLevel (GPT-2's regex and byte alphabet), Digits, Metaspace,
// Whitespace, WhitespaceSplit, Sequence.
#include <nlohmann/json.hpp>

#include "landmark/error.h"
#include "src/tokenizer/components.h"
#include "src/tokenizer/regex.h"

namespace landmark::tokenizer {
namespace {

using json = nlohmann::json;

const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

Behavior ParseBehavior(const std::string& name, const std::string& where) {
  if (name == "Removed") return Behavior::kRemoved;
  if (name == "Isolated") return Behavior::kIsolated;
  if (name == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::kMergedWithNext;
  if (name == "Contiguous") return Behavior::kContiguous;
  LANDMARK_THROW(where + ": split behavior '" + name + "' is not one of Removed, Isolated, MergedWithPrevious, "
                 "MergedWithNext, Contiguous");
}

// Splits `p` at `matches` as the behaviour says (`tokenizers`' NormalizedString::split).
void SplitPiece(const Piece& p, const std::vector<std::pair<size_t, size_t>>& matches, Behavior behavior,
                bool invert, std::vector<Piece>& out) {
  // Segments covering the piece: (begin, end, is_match).
  struct Segment {
    size_t b, e;
    bool match;
  };
  std::vector<Segment> segments;
  size_t done = 0;
  for (auto [b, e] : matches) {
    if (b > done) segments.push_back({done, b, invert});
    segments.push_back({b, e, !invert});
    done = e;
  }
  if (done < p.text.size()) segments.push_back({done, p.text.size(), invert});
  std::vector<std::pair<size_t, size_t>> pieces;
  switch (behavior) {
    case Behavior::kRemoved:
      for (const Segment& s : segments) {
        if (!s.match) pieces.push_back({s.b, s.e});
      }
      break;
    case Behavior::kIsolated:
      for (const Segment& s : segments) pieces.push_back({s.b, s.e});
      break;
    case Behavior::kMergedWithPrevious: {
      bool previous_open = false;
      for (const Segment& s : segments) {
        if (s.match && previous_open) {
          pieces.back().second = s.e;
        } else {
          pieces.push_back({s.b, s.e});
        }
        previous_open = !s.match;
      }
      break;
    }
    case Behavior::kMergedWithNext: {
      bool pending = false;
      for (const Segment& s : segments) {
        if (pending) {
          pieces.back().second = s.e;
        } else {
          pieces.push_back({s.b, s.e});
        }
        pending = s.match;
      }
      break;
    }
    case Behavior::kContiguous: {
      bool previous_match = false;
      for (const Segment& s : segments) {
        if (s.match && previous_match) {
          pieces.back().second = s.e;
        } else {
          pieces.push_back({s.b, s.e});
        }
        previous_match = s.match;
      }
      break;
    }
  }
  for (auto [b, e] : pieces) {
    if (e > b) out.push_back(p.Slice(b, e));
  }
}

// A piece-by-piece pre-tokenizer.
class EachPiece : public PreTokenizer {
 public:
  void Apply(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    out.reserve(pieces.size());
    for (const Piece& p : pieces) One(p, out);
    pieces = std::move(out);
  }
  virtual void One(const Piece& p, std::vector<Piece>& out) const = 0;
};

class Split : public EachPiece {
 public:
  Split(std::unique_ptr<Regex> regex, std::string literal, Behavior behavior, bool invert)
      : regex_(std::move(regex)), literal_(std::move(literal)), behavior_(behavior), invert_(invert) {}
  void One(const Piece& p, std::vector<Piece>& out) const override {
    std::vector<std::pair<size_t, size_t>> matches;
    if (regex_) {
      matches = regex_->FindAll(p.text);
    } else if (!literal_.empty()) {
      for (size_t at = p.text.find(literal_); at != std::string::npos; at = p.text.find(literal_, at + literal_.size())) {
        matches.push_back({at, at + literal_.size()});
      }
    }
    SplitPiece(p, matches, behavior_, invert_, out);
  }

 private:
  std::unique_ptr<Regex> regex_;
  std::string literal_;
  Behavior behavior_;
  bool invert_;
};

class ByteLevel : public EachPiece {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space),
        regex_(use_regex ? std::make_unique<Regex>(kGpt2Pattern, "ByteLevel") : nullptr) {}
  void One(const Piece& in, std::vector<Piece>& out) const override {
    Piece p = in;
    if (add_prefix_space_ && (p.text.empty() || p.text[0] != ' ')) {
      Piece spaced;
      spaced.Append(" ", p.origin.empty() ? 0 : p.origin[0]);
      spaced.Append(p, 0, p.text.size());
      p = std::move(spaced);
    }
    std::vector<Piece> split;
    if (regex_) {
      SplitPiece(p, regex_->FindAll(p.text), Behavior::kIsolated, false, split);
    } else {
      split.push_back(std::move(p));
    }
    for (const Piece& s : split) {  // every byte as its printable character
      Piece mapped;
      for (size_t i = 0; i < s.text.size(); ++i) mapped.Append(ByteToUnicode(uint8_t(s.text[i])), s.origin[i]);
      out.push_back(std::move(mapped));
    }
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

class Metaspace : public EachPiece {
 public:
  Metaspace(std::string replacement, std::string scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(std::move(scheme)), split_(split) {}
  void One(const Piece& in, std::vector<Piece>& out) const override {
    Piece p;
    for (size_t i = 0; i < in.text.size(); ++i) {
      if (in.text[i] == ' ') {
        p.Append(replacement_, in.origin[i]);
      } else {
        p.Append(in, i, i + 1);
      }
    }
    const bool starts = p.text.compare(0, replacement_.size(), replacement_) == 0;
    const bool at_input_start = !in.origin.empty() && in.origin[0] == 0;
    if (!starts && !p.text.empty() && (scheme_ == "always" || (scheme_ == "first" && at_input_start))) {
      Piece prefixed;
      prefixed.Append(replacement_, p.origin[0]);
      prefixed.Append(p, 0, p.text.size());
      p = std::move(prefixed);
    }
    if (!split_) {
      if (!p.text.empty()) out.push_back(std::move(p));
      return;
    }
    std::vector<std::pair<size_t, size_t>> matches;
    for (size_t at = p.text.find(replacement_); at != std::string::npos; at = p.text.find(replacement_, at + replacement_.size())) {
      matches.push_back({at, at + replacement_.size()});
    }
    SplitPiece(p, matches, Behavior::kMergedWithNext, false, out);
  }

 private:
  std::string replacement_, scheme_;
  bool split_;
};

class Sequence : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void Apply(std::vector<Piece>& pieces) const override {
    for (const auto& s : steps_) s->Apply(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

bool Flag(const json& j, const char* key, bool fallback, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  LANDMARK_CHECK_ARG(j[key].is_boolean(), where + ": '" + key + "' must be true or false");
  return j[key].get<bool>();
}

}  // namespace

std::unique_ptr<PreTokenizer> ParsePreTokenizer(const json& j, const std::string& where) {
  if (j.is_null()) return nullptr;
  const std::string type = JsonString(j, "type", where);
  const std::string at = where + " (pre_tokenizer " + type + ")";
  if (type == "Split") {
    const json& pattern = JsonMember(j, "pattern", at);
    const Behavior behavior = ParseBehavior(JsonString(j, "behavior", at), at);
    const bool invert = Flag(j, "invert", false, at);
    if (pattern.is_object() && pattern.contains("Regex")) {
      return std::make_unique<Split>(std::make_unique<Regex>(JsonString(pattern, "Regex", at), at), "", behavior,
                                     invert);
    }
    return std::make_unique<Split>(nullptr, JsonString(pattern, "String", at), behavior, invert);
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevel>(Flag(j, "add_prefix_space", true, at), Flag(j, "use_regex", true, at));
  }
  if (type == "Digits") {
    const bool individual = Flag(j, "individual_digits", false, at);
    return std::make_unique<Split>(std::make_unique<Regex>(R"(\p{N})", at), "",
                                   individual ? Behavior::kIsolated : Behavior::kContiguous, false);
  }
  if (type == "Metaspace") {
    std::string scheme = "always";
    if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
      scheme = JsonString(j, "prepend_scheme", at);
    } else if (!Flag(j, "add_prefix_space", true, at)) {
      scheme = "never";
    }
    LANDMARK_CHECK_ARG(scheme == "always" || scheme == "first" || scheme == "never",
                       at + ": prepend_scheme '" + scheme + "' is not always, first or never");
    return std::make_unique<Metaspace>(JsonString(j, "replacement", at), scheme, Flag(j, "split", true, at));
  }
  if (type == "Whitespace") {
    return std::make_unique<Split>(std::make_unique<Regex>(R"(\w+|[^\w\s]+)", at), "", Behavior::kRemoved, true);
  }
  if (type == "WhitespaceSplit") {
    return std::make_unique<Split>(std::make_unique<Regex>(R"(\s+)", at), "", Behavior::kRemoved, false);
  }
  if (type == "Sequence") {
    const json& list = JsonMember(j, "pretokenizers", at);
    LANDMARK_CHECK_ARG(list.is_array(), at + ": 'pretokenizers' must be a list");
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const json& step : list) {
      auto s = ParsePreTokenizer(step, where);
      if (s) steps.push_back(std::move(s));
    }
    return std::make_unique<Sequence>(std::move(steps));
  }
  LANDMARK_THROW(where + ": pre_tokenizer type '" + type +
                 "' is not supported (Split, ByteLevel, Digits, Metaspace, Whitespace, WhitespaceSplit, Sequence)");
}

}  // namespace landmark::tokenizer
