#include "src/tokenizer/pre_tokenizer.h"

#include <cstdint>
#include <functional>
#include <utility>

#include "src/tokenizer/byte_level.h"
#include "src/tokenizer/pattern.h"
#include "src/tokenizer/unicode.h"

namespace landmark::tokenizer {
namespace {

// What becomes of the matches when a piece is split (`tokenizers`'
// SplitDelimiterBehavior): "the-final--countdown" split at '-' gives
//   Removed            the, final, countdown
//   Isolated           the, -, final, -, -, countdown
//   MergedWithPrevious the-, final-, -, countdown
//   MergedWithNext     the, -final, -, -countdown
//   Contiguous         the, -, final, --, countdown
enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

using Flagged = std::vector<std::pair<Span, bool>>;  // spans covering a piece; true = a match

void SplitPiece(const NormalizedString& s, const Flagged& matches, Behavior behavior,
                std::vector<NormalizedString>& out) {
  // Each span joins the one before it where `joins(is_match, previous_is_match)`
  // (`tokenizers` folds MergedWithNext backwards; joining a gap to the
  // match before it is the same thing).
  const auto joins = [behavior](bool is_match, bool previous) {
    switch (behavior) {
      case Behavior::kContiguous: return is_match == previous;
      case Behavior::kMergedWithPrevious: return is_match && !previous;
      case Behavior::kMergedWithNext: return previous && !is_match;
      default: return false;
    }
  };
  Span current{0, 0};
  bool previous = false, open = false;
  const auto emit = [&] {
    if (open && current.second > current.first) out.push_back(s.Slice(current.first, current.second));
  };
  for (const auto& [span, is_match] : matches) {
    if (open && joins(is_match, previous)) {
      current.second = span.second;
    } else {
      emit();
      current = span;
      open = behavior != Behavior::kRemoved || !is_match;
    }
    previous = is_match;
  }
  emit();
}

// `tokenizers`' find_matches for a character predicate: every character
// that satisfies it is a match of its own.
Flagged MatchCharacters(std::string_view text, const std::function<bool(char32_t)>& match) {
  Flagged out;
  if (text.empty()) return {{{0, 0}, false}};
  size_t gap = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t at = i;
    if (!match(NextCodePoint(text, i))) continue;
    if (gap < at) out.push_back({{gap, at}, false});
    out.push_back({{at, i}, true});
    gap = i;
  }
  if (gap < text.size()) out.push_back({{gap, text.size()}, false});
  return out;
}

// Replaces every piece by the pieces `split` makes of it.
template <class Fn>
void SplitEach(std::vector<NormalizedString>& pieces, const Fn& split) {
  std::vector<NormalizedString> out;
  out.reserve(pieces.size());
  for (const NormalizedString& piece : pieces) {
    if (!piece.empty()) split(piece, out);
  }
  pieces = std::move(out);
}

class Split : public PreTokenizer {
 public:
  Split(Pattern pattern, Behavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void PreTokenize(std::vector<NormalizedString>& pieces) const override {
    std::vector<Span> found;
    SplitEach(pieces, [&](const NormalizedString& piece, std::vector<NormalizedString>& out) {
      pattern_.FindAll(piece.text, found);
      Flagged matches = MatchesAndGaps(piece.text, found);
      if (invert_) {
        for (auto& m : matches) m.second = !m.second;
      }
      SplitPiece(piece, matches, behavior_, out);
    });
  }

 private:
  Pattern pattern_;
  Behavior behavior_;
  bool invert_;
};

// GPT-2's pre-tokenizer: optionally a space before each piece, the GPT-2
// regex, then every byte as its character of the byte-level alphabet.
class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex) : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {}
  void PreTokenize(std::vector<NormalizedString>& pieces) const override {
    static const Pattern gpt2 =
        Pattern::Regex(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)", "ByteLevel");
    std::vector<Span> found;
    std::vector<NormalizedString> words;
    SplitEach(pieces, [&](const NormalizedString& piece, std::vector<NormalizedString>& out) {
      words.clear();
      NormalizedString spaced;
      const NormalizedString* p = &piece;
      if (add_prefix_space_ && piece.text[0] != ' ') {
        NormalizedBuilder b(piece);
        b.Write(" ", 0);
        b.Copy(0, piece.text.size());
        spaced = b.Finish();
        p = &spaced;
      }
      if (use_regex_) {
        gpt2.FindAll(p->text, found);
        SplitPiece(*p, MatchesAndGaps(p->text, found), Behavior::kIsolated, words);
      } else {
        words.push_back(*p);
      }
      for (const NormalizedString& word : words) {
        NormalizedBuilder b(word);
        for (size_t i = 0; i < word.text.size(); ++i) b.Write(ByteToChar(static_cast<uint8_t>(word.text[i])), i);
        out.push_back(b.Finish());
      }
    });
  }

 private:
  bool add_prefix_space_, use_regex_;
};

using PrependScheme = MetaspaceOptions::Prepend;

// SentencePiece's spaces: ' ' becomes "▁", a "▁" is put before the text
// (always, or only before the first piece of the input), and pieces are
// split before each "▁".
class Metaspace : public PreTokenizer {
 public:
  explicit Metaspace(MetaspaceOptions options)
      : replacement_(std::move(options.replacement)),
        marker_(Pattern::Literal(replacement_)),
        scheme_(options.prepend),
        split_(options.split) {}
  void PreTokenize(std::vector<NormalizedString>& pieces) const override {
    std::vector<Span> found;
    SplitEach(pieces, [&](const NormalizedString& piece, std::vector<NormalizedString>& out) {
      NormalizedBuilder b(piece);
      const bool starts_with_replacement = piece.text[0] == ' ' || piece.text.rfind(replacement_, 0) == 0;
      const bool prepend = !starts_with_replacement && (scheme_ == PrependScheme::kAlways ||
                                                        (scheme_ == PrependScheme::kFirst && piece.origin[0] == 0));
      if (prepend) b.Write(replacement_, 0);
      size_t done = 0;
      for (size_t i = 0; i < piece.text.size(); ++i) {
        if (piece.text[i] != ' ') continue;
        b.Copy(done, i);
        b.Write(replacement_, i);
        done = i + 1;
      }
      b.Copy(done, piece.text.size());
      NormalizedString replaced = b.Finish();
      if (!split_) {
        out.push_back(std::move(replaced));
        return;
      }
      marker_.FindAll(replaced.text, found);
      SplitPiece(replaced, MatchesAndGaps(replaced.text, found), Behavior::kMergedWithNext, out);
    });
  }

 private:
  std::string replacement_;
  Pattern marker_;
  PrependScheme scheme_;
  bool split_;
};

class Digits : public PreTokenizer {
 public:
  explicit Digits(bool individual) : individual_(individual) {}
  void PreTokenize(std::vector<NormalizedString>& pieces) const override {
    SplitEach(pieces, [&](const NormalizedString& piece, std::vector<NormalizedString>& out) {
      SplitPiece(piece, MatchCharacters(piece.text, IsNumeric),
                 individual_ ? Behavior::kIsolated : Behavior::kContiguous, out);
    });
  }

 private:
  bool individual_;
};

// Whitespace: the runs of \w+ and of [^\w\s]+, dropping whitespace;
// WhitespaceSplit: the runs between whitespace characters.
class Whitespace : public PreTokenizer {
 public:
  explicit Whitespace(bool split_only) : split_only_(split_only) {}
  void PreTokenize(std::vector<NormalizedString>& pieces) const override {
    SplitEach(pieces, [&](const NormalizedString& piece, std::vector<NormalizedString>& out) {
      if (split_only_) {
        SplitPiece(piece, MatchCharacters(piece.text, IsWhitespace), Behavior::kRemoved, out);
        return;
      }
      int run_class = -1;  // 0: whitespace, 1: word, 2: other
      size_t run_start = 0;
      for (size_t i = 0; i <= piece.text.size();) {
        const size_t at = i;
        int c = -1;
        if (i < piece.text.size()) {
          const char32_t ch = NextCodePoint(piece.text, i);
          c = IsWordChar(ch) ? 1 : IsWhitespace(ch) ? 0 : 2;
        } else {
          ++i;
        }
        if (c == run_class) continue;
        if (run_class > 0) out.push_back(piece.Slice(run_start, at));
        run_class = c;
        run_start = at;
      }
    });
  }

 private:
  bool split_only_;
};

class Sequence : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void PreTokenize(std::vector<NormalizedString>& pieces) const override {
    for (const auto& step : steps_) step->PreTokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

Behavior ParseBehavior(const Json& node, const Where& where) {
  const std::string name = StringMember(node, "behavior", where);
  if (name == "Removed") return Behavior::kRemoved;
  if (name == "Isolated") return Behavior::kIsolated;
  if (name == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::kMergedWithNext;
  if (name == "Contiguous") return Behavior::kContiguous;
  (where / "behavior")
      .Fail("unknown split behavior '" + name +
            "' (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)");
}

}  // namespace

MetaspaceOptions ParseMetaspaceOptions(const Json& node, const Where& where) {
  MetaspaceOptions options;
  options.replacement = StringMember(node, "replacement", where);
  size_t end = 0;
  if (options.replacement.empty() || (NextCodePoint(options.replacement, end), end != options.replacement.size())) {
    (where / "replacement").Fail("expected one character");
  }
  const auto scheme = OptionalString(node, "prepend_scheme", where);
  if (!scheme || *scheme == "always") {
    options.prepend = PrependScheme::kAlways;
  } else if (*scheme == "first") {
    options.prepend = PrependScheme::kFirst;
  } else if (*scheme == "never") {
    options.prepend = PrependScheme::kNever;
  } else {
    (where / "prepend_scheme").Fail("unknown prepend_scheme '" + *scheme + "' (expected always, first or never)");
  }
  // The older form: add_prefix_space false means "never".
  if (const Json* legacy = Optional(node, "add_prefix_space", where);
      legacy != nullptr && !AsBool(*legacy, where / "add_prefix_space")) {
    if (scheme && options.prepend != PrependScheme::kNever) {
      where.Fail("add_prefix_space false contradicts prepend_scheme '" + *scheme + "'");
    }
    options.prepend = PrependScheme::kNever;
  }
  options.split = BoolMember(node, "split", where, true);
  return options;
}

std::unique_ptr<PreTokenizer> ParsePreTokenizer(const Json& node, const Where& where, int depth) {
  CheckNesting(depth, "pre-tokenizer", where);
  const std::string type = TypeOf(node, where);
  if (type == "Split") {
    return std::make_unique<Split>(ParsePattern(Member(node, "pattern", where), where / "pattern"),
                                   ParseBehavior(node, where), BoolMember(node, "invert", where));
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevel>(BoolMember(node, "add_prefix_space", where, true),
                                       BoolMember(node, "use_regex", where, true));
  }
  if (type == "Metaspace") return std::make_unique<Metaspace>(ParseMetaspaceOptions(node, where));
  if (type == "Digits") return std::make_unique<Digits>(BoolMember(node, "individual_digits", where, false));
  if (type == "Whitespace") return std::make_unique<Whitespace>(false);
  if (type == "WhitespaceSplit") return std::make_unique<Whitespace>(true);
  if (type == "Sequence") {
    return std::make_unique<Sequence>(ParseSteps<PreTokenizer>(
        node, "pretokenizers", where,
        [depth](const Json& n, const Where& w) { return ParsePreTokenizer(n, w, depth + 1); }));
  }
  Unsupported("pre-tokenizer", type, "Split, ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit and Sequence",
              where);
}

}  // namespace landmark::tokenizer
