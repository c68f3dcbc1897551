#include <cstdint>

#include "src/tokenizer/decoder.h"

#include "src/tokenizer/byte_level.h"
#include "src/tokenizer/pattern.h"
#include "src/tokenizer/pre_tokenizer.h"
#include "src/tokenizer/unicode.h"

namespace landmark::tokenizer {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

// Byte-level characters back to bytes (a token with a character outside
// the alphabet, an added token say, is taken as it is); the result is one
// string, invalid UTF-8 replaced as Rust's from_utf8_lossy does.
class ByteLevel : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>& tokens) const override {
    std::string bytes, mapped;
    for (const std::string& token : tokens) {
      mapped.clear();
      bool all = true;
      for (size_t i = 0; i < token.size() && all;) {
        const int b = CharToByte(NextCodePoint(token, i));
        all = b >= 0;
        mapped += static_cast<char>(b);
      }
      bytes += all ? mapped : token;
    }
    tokens.assign(1, Utf8Lossy(bytes));
  }
};

// "▁" back to spaces; the first token loses its "▁"s when the pre-tokenizer
// put one before the text.
class Metaspace : public Decoder {
 public:
  explicit Metaspace(MetaspaceOptions options) : options_(std::move(options)) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (size_t t = 0; t < tokens.size(); ++t) {
      const bool drop = t == 0 && options_.prepend != MetaspaceOptions::Prepend::kNever;
      std::string out;
      size_t at = 0;
      for (size_t found; (found = tokens[t].find(options_.replacement, at)) != std::string::npos;
           at = found + options_.replacement.size()) {
        out.append(tokens[t], at, found - at);
        if (!drop) out += ' ';
      }
      out.append(tokens[t], at, std::string::npos);
      tokens[t] = std::move(out);
    }
  }

 private:
  MetaspaceOptions options_;
};

class Replace : public Decoder {
 public:
  Replace(Pattern pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    std::vector<Span> found;
    for (std::string& token : tokens) {
      pattern_.FindAll(token, found);
      if (found.empty() || token.empty()) continue;
      std::string out;
      size_t done = 0;
      for (const Span& m : found) {
        out.append(token, done, m.first - done);
        out += content_;
        done = m.second;
      }
      out.append(token, done, std::string::npos);
      token = std::move(out);
    }
  }

 private:
  Pattern pattern_;
  std::string content_;
};

// Runs of <0xNN> tokens back to their bytes; a run that is not valid UTF-8
// becomes one U+FFFD per byte, as in `tokenizers`.
class ByteFallback : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string run;  // pending bytes
    size_t run_length = 0;
    const auto flush = [&] {
      if (run_length == 0) return;
      if (ValidUtf8Prefix(run) == run.size()) {
        out.push_back(run);
      } else {
        for (size_t k = 0; k < run_length; ++k) out.emplace_back(kReplacementCharacter);
      }
      run.clear();
      run_length = 0;
    };
    for (std::string& token : tokens) {
      const int byte = ByteOf(token);
      if (byte >= 0) {
        run += static_cast<char>(byte);
        ++run_length;
        continue;
      }
      flush();
      out.push_back(std::move(token));
    }
    flush();
    tokens = std::move(out);
  }

 private:
  static int HexDigit(char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
  }
  // The byte of "<0xNN>" (Rust's u8::from_str_radix, which also takes "+N"), or -1.
  static int ByteOf(const std::string& token) {
    if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
    if (token[3] == '+') return HexDigit(token[4]);
    const int high = HexDigit(token[3]), low = HexDigit(token[4]);
    return high < 0 || low < 0 ? -1 : high * 16 + low;
  }
};

class Fuse : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>& tokens) const override {
    std::string joined;
    for (const std::string& token : tokens) joined += token;
    tokens.assign(1, std::move(joined));
  }
};

// Up to `start` leading and `stop` trailing `content` characters off each token.
class Strip : public Decoder {
 public:
  Strip(std::string content, size_t start, size_t stop) : content_(std::move(content)), start_(start), stop_(stop) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (std::string& token : tokens) {
      std::string_view rest = token;
      for (size_t k = 0; k < start_ && rest.starts_with(content_); ++k) rest.remove_prefix(content_.size());
      for (size_t k = 0; k < stop_ && rest.ends_with(content_); ++k) rest.remove_suffix(content_.size());
      token = std::string(rest);
    }
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

class Sequence : public Decoder {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (const auto& step : steps_) step->DecodeChain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

size_t Count(const Json& node, std::string_view key, const Where& where) {
  const int64_t n = AsInt(Member(node, key, where), where / key);
  if (n < 0) (where / key).Fail("expected a count >= 0");
  return static_cast<size_t>(n);
}

}  // namespace

std::unique_ptr<Decoder> ParseDecoder(const Json& node, const Where& where, int depth) {
  CheckNesting(depth, "decoder", where);
  const std::string type = TypeOf(node, where);
  if (type == "ByteLevel") return std::make_unique<ByteLevel>();
  if (type == "Metaspace") return std::make_unique<Metaspace>(ParseMetaspaceOptions(node, where));
  if (type == "ByteFallback") return std::make_unique<ByteFallback>();
  if (type == "Fuse") return std::make_unique<Fuse>();
  if (type == "Replace") {
    return std::make_unique<Replace>(ParsePattern(Member(node, "pattern", where), where / "pattern"),
                                     StringMember(node, "content", where));
  }
  if (type == "Strip") {
    const std::string content = StringMember(node, "content", where);
    size_t end = 0;
    if (content.empty() || (NextCodePoint(content, end), end != content.size())) {
      (where / "content").Fail("expected one character");
    }
    return std::make_unique<Strip>(content, Count(node, "start", where), Count(node, "stop", where));
  }
  if (type == "Sequence") {
    return std::make_unique<Sequence>(ParseSteps<Decoder>(
        node, "decoders", where, [depth](const Json& n, const Where& w) { return ParseDecoder(n, w, depth + 1); }));
  }
  Unsupported("decoder", type, "ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip and Sequence", where);
}

}  // namespace landmark::tokenizer
