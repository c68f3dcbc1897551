// Decoders: ByteLevel (the byte alphabet back to bytes), Metaspace, Replace,
// ByteFallback (<0xNN> runs to UTF-8), Fuse, Strip, Sequence.
#include <nlohmann/json.hpp>

#include "landmark/error.h"
#include "src/tokenizer/components.h"

namespace landmark::tokenizer {
namespace {

using json = nlohmann::json;

class ByteLevel : public Decoder {
 public:
  void Apply(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      size_t i = 0;
      while (i < t.size()) {
        const size_t at = i;
        const char32_t c = DecodeUtf8(t, i);
        const int b = UnicodeToByte(c);
        if (b >= 0) {
          bytes += char(b);
        } else {
          bytes.append(t, at, i - at);  // not of the alphabet (an added token's text): as it is
        }
      }
    }
    tokens = {Utf8Lossy(bytes)};
  }
};

class Replace : public Decoder {
 public:
  Replace(std::string from, std::string to) : from_(std::move(from)), to_(std::move(to)) {}
  void Apply(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      std::string out;
      size_t done = 0;
      for (size_t at = t.find(from_); at != std::string::npos; at = t.find(from_, at + from_.size())) {
        out.append(t, done, at - done);
        out += to_;
        done = at + from_.size();
      }
      out.append(t, done, std::string::npos);
      t = std::move(out);
    }
  }

 private:
  std::string from_, to_;
};

// "<0x41>" -> 0x41, else -1.
int ByteToken(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  int v = 0;
  for (size_t i = 3; i < 5; ++i) {
    const char c = t[i];
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

class ByteFallback : public Decoder {
 public:
  void Apply(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string run;
    size_t run_tokens = 0;
    auto flush = [&] {
      if (run_tokens == 0) return;
      if (IsValidUtf8(run)) {
        out.push_back(run);
      } else {
        for (size_t i = 0; i < run_tokens; ++i) out.push_back("\xEF\xBF\xBD");  // one U+FFFD per byte
      }
      run.clear();
      run_tokens = 0;
    };
    for (const std::string& t : tokens) {
      const int b = ByteToken(t);
      if (b >= 0) {
        run += char(b);
        ++run_tokens;
      } else {
        flush();
        out.push_back(t);
      }
    }
    flush();
    tokens = std::move(out);
  }
};

class Fuse : public Decoder {
 public:
  void Apply(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    tokens = {all};
  }
};

class Strip : public Decoder {
 public:
  Strip(std::string content, size_t start, size_t stop) : content_(std::move(content)), start_(start), stop_(stop) {}
  void Apply(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      size_t b = 0, e = t.size();
      for (size_t i = 0; i < start_ && t.compare(b, content_.size(), content_) == 0 && b < e; ++i) b += content_.size();
      for (size_t i = 0; i < stop_ && e >= b + content_.size() &&
                         t.compare(e - content_.size(), content_.size(), content_) == 0; ++i) {
        e -= content_.size();
      }
      t = t.substr(b, e - b);
    }
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

class Metaspace : public Decoder {
 public:
  Metaspace(std::string replacement, bool strip_first) : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  void Apply(std::vector<std::string>& tokens) const override {
    Replace(replacement_, " ").Apply(tokens);
    if (strip_first_ && !tokens.empty() && !tokens[0].empty() && tokens[0][0] == ' ') tokens[0].erase(0, 1);
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

class Sequence : public Decoder {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  void Apply(std::vector<std::string>& tokens) const override {
    for (const auto& s : steps_) s->Apply(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

size_t Count(const json& j, const char* key, const std::string& where) {
  LANDMARK_CHECK_ARG(j.contains(key) && j[key].is_number_unsigned() && j[key].get<uint64_t>() < 1024,
                     where + ": '" + key + "' must be a small count");
  return j[key].get<size_t>();
}

}  // namespace

std::unique_ptr<Decoder> ParseDecoder(const json& j, const std::string& where) {
  if (j.is_null()) return nullptr;
  const std::string type = JsonString(j, "type", where);
  const std::string at = where + " (decoder " + type + ")";
  if (type == "ByteLevel") return std::make_unique<ByteLevel>();
  if (type == "ByteFallback") return std::make_unique<ByteFallback>();
  if (type == "Fuse") return std::make_unique<Fuse>();
  if (type == "Strip") return std::make_unique<Strip>(JsonString(j, "content", at), Count(j, "start", at), Count(j, "stop", at));
  if (type == "Replace") {
    const json& pattern = JsonMember(j, "pattern", at);
    LANDMARK_CHECK_ARG(pattern.is_object() && pattern.contains("String"),
                       at + ": only String patterns are supported in decoders");
    return std::make_unique<Replace>(JsonString(pattern, "String", at), JsonString(j, "content", at));
  }
  if (type == "Metaspace") {
    bool strip = true;
    if (j.contains("prepend_scheme") && j["prepend_scheme"].is_string()) {
      strip = j["prepend_scheme"].get<std::string>() != "never";
    } else if (j.contains("add_prefix_space") && j["add_prefix_space"].is_boolean()) {
      strip = j["add_prefix_space"].get<bool>();
    }
    return std::make_unique<Metaspace>(JsonString(j, "replacement", at), strip);
  }
  if (type == "Sequence") {
    const json& list = JsonMember(j, "decoders", at);
    LANDMARK_CHECK_ARG(list.is_array(), at + ": 'decoders' must be a list");
    std::vector<std::unique_ptr<Decoder>> steps;
    for (const json& step : list) {
      auto s = ParseDecoder(step, where);
      if (s) steps.push_back(std::move(s));
    }
    return std::make_unique<Sequence>(std::move(steps));
  }
  LANDMARK_THROW(where + ": decoder type '" + type +
                 "' is not supported (ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace, Sequence)");
}

}  // namespace landmark::tokenizer
