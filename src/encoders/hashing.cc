#include "landmark/encoder.h"

#include <xxhash.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "landmark/error.h"
#include "src/tokenizer/unicode.h"

namespace landmark {
namespace {

bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c >= 0x80;
}
bool IsSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void Normalize(float* v, size_t d) {
  double norm = 0;
  for (size_t k = 0; k < d; ++k) norm += double(v[k]) * v[k];
  const float inv = norm > 0 ? float(1.0 / std::sqrt(norm)) : 0.0f;
  for (size_t k = 0; k < d; ++k) v[k] *= inv;
}

// The code point at text[i] and its length; an invalid sequence reads as
// one byte that is not a word character.
char32_t DecodeAt(std::string_view text, size_t i, size_t& length) {
  const auto lead = static_cast<unsigned char>(text[i]);
  length = tokenizer::SequenceLength(lead);
  if (length == 1) return lead < 0x80 ? char32_t(lead) : char32_t(0xFFFD);
  if (i + length > text.size() || tokenizer::ValidUtf8Prefix(text.substr(i, length)) != length) {
    length = 1;
    return 0xFFFD;
  }
  size_t at = i;
  return tokenizer::NextCodePoint(text, at);
}

bool IsWordCodePoint(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  return c != 0xFFFD && tokenizer::IsWordChar(c) && c != 0x203F && c != 0x2040;  // \w but connector punctuation
}

uint64_t FoldedHash(std::string_view token, uint64_t seed) {
  char small[64];
  std::string large;
  char* folded = small;
  if (token.size() > sizeof(small)) {
    large.resize(token.size());
    folded = large.data();
  }
  for (size_t i = 0; i < token.size(); ++i) {
    const char c = token[i];
    folded[i] = c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
  }
  return XXH3_64bits_withSeed(folded, token.size(), seed);
}

constexpr uint64_t kTermSeed = 0x626d32355f746572ull;  // "bm25_ter"
constexpr uint64_t kBlankHash = 0x626c616e6b000001ull;

}  // namespace

HashingEncoderOptions TextEncoderOptions() {
  HashingEncoderOptions o;
  o.head_dim = 16;
  o.words = true;
  return o;
}

uint32_t TermId(std::string_view word) {
  const uint32_t id = uint32_t(FoldedHash(word, kTermSeed));
  return id ? id : 1;
}

std::vector<std::pair<uint32_t, uint32_t>> HashingEncoder::TokenizeWords(std::string_view text) {
  std::vector<std::pair<uint32_t, uint32_t>> spans;
  size_t i = 0, length = 0;
  while (i < text.size()) {
    if (!IsWordCodePoint(DecodeAt(text, i, length))) {
      i += length;
      continue;
    }
    const size_t begin = i;
    i += length;
    while (i < text.size() && IsWordCodePoint(DecodeAt(text, i, length))) i += length;
    spans.emplace_back(uint32_t(begin), uint32_t(i));
  }
  return spans;
}

HashingEncoder::HashingEncoder(const HashingEncoderOptions& options) : options_(options) {
  LANDMARK_CHECK_ARG(options.kv_heads >= 1 && options.head_dim >= 1,
                     "hashing encoder: kv heads and head dim must be >= 1");
  scratch_.resize(options.head_dim);
}

std::vector<std::pair<uint32_t, uint32_t>> HashingEncoder::Tokenize(std::string_view text) {
  std::vector<std::pair<uint32_t, uint32_t>> spans;
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (IsSpace(c)) {
      ++i;
      continue;
    }
    size_t end = i + 1;
    if (IsWordByte(c)) {
      while (end < text.size() && IsWordByte(static_cast<unsigned char>(text[end]))) ++end;
    }
    spans.emplace_back(uint32_t(i), uint32_t(end));
    i = end;
  }
  return spans;
}

uint64_t HashingEncoder::HashToken(std::string_view token) const {
  const uint64_t h = FoldedHash(token, options_.seed);
  return h ? h : 1;  // 0 means "no previous token"
}

void HashingEncoder::Embed(uint64_t hash, size_t head, float* out) const {
  uint64_t state = hash ^ (0xd1b54a32d192ed03ull * (head + 1));
  for (size_t k = 0; k < options_.head_dim; ++k) {
    out[k] = float(int64_t(SplitMix64(state) >> 40) - (int64_t(1) << 23)) * (1.0f / float(1 << 23));
  }
  Normalize(out, options_.head_dim);
}

void HashingEncoder::Encode(std::string_view text, EncodedText& out) {
  LANDMARK_CHECK_ARG(text.size() < (size_t(1) << 32), "hashing encoder: a text piece must be < 4 GiB");
  auto spans = options_.words ? TokenizeWords(text) : Tokenize(text);
  const bool blank = options_.words && spans.empty() && !text.empty();
  if (blank) spans.emplace_back(0, uint32_t(text.size()));
  const size_t H = options_.kv_heads, d = options_.head_dim;
  out.tokens = spans.size();
  out.keys.resize(spans.size() * H * d);
  out.values.resize(spans.size() * H * d);
  out.token_text_end.resize(spans.size());
  out.terms.assign(options_.words ? spans.size() : 0, 0);
  for (size_t t = 0; t < spans.size(); ++t) {
    const auto [begin, end] = spans[t];
    const std::string_view token = text.substr(begin, end - begin);
    const uint64_t word = blank ? kBlankHash : HashToken(token);
    if (options_.words && !blank) out.terms[t] = TermId(token);
    // Bigram hash from the ordered pair of token hashes.
    const uint64_t pair = previous_ ? XXH3_64bits_withSeed(&previous_, 8, word) : 0;
    for (size_t h = 0; h < H; ++h) {
      float* key = &out.keys[(t * H + h) * d];
      float* value = &out.values[(t * H + h) * d];
      Embed(word, h, value);
      for (size_t k = 0; k < d; ++k) key[k] = value[k];
      if (pair) {
        Embed(pair, h, scratch_.data());
        for (size_t k = 0; k < d; ++k) key[k] += options_.bigram_weight * scratch_[k];
        Normalize(key, d);
      }
    }
    out.token_text_end[t] = t + 1 < spans.size() ? spans[t + 1].first : uint32_t(text.size());
    previous_ = word;
  }
}

std::vector<float> HashingEncoder::EncodeQuery(std::string_view text) const {
  const size_t H = options_.kv_heads, d = options_.head_dim;
  std::vector<float> q(H * d, 0.0f), e(d);
  uint64_t previous = 0;
  for (const auto& [begin, end] : options_.words ? TokenizeWords(text) : Tokenize(text)) {
    const uint64_t word = HashToken(text.substr(begin, end - begin));
    const uint64_t pair = previous ? XXH3_64bits_withSeed(&previous, 8, word) : 0;
    for (size_t h = 0; h < H; ++h) {
      Embed(word, h, e.data());
      for (size_t k = 0; k < d; ++k) q[h * d + k] += e[k];
      if (!pair) continue;
      Embed(pair, h, e.data());
      for (size_t k = 0; k < d; ++k) q[h * d + k] += options_.bigram_weight * e[k];
    }
    previous = word;
  }
  return q;
}

HashingEncoder::QueryVectors HashingEncoder::EncodeTextQuery(std::string_view text, size_t group,
                                                             float temperature) const {
  const size_t H = options_.kv_heads, d = options_.head_dim;
  LANDMARK_CHECK_ARG(group >= 1 && group <= 1024, "text query: group (query heads per kv head) must be 1..1024, is " +
                                                      std::to_string(group));
  LANDMARK_CHECK_ARG(std::isfinite(temperature), "text query: the temperature must be a finite number");
  QueryVectors v;
  v.r = EncodeQuery(text);
  v.q.resize(H * group * d);
  for (size_t h = 0; h < H; ++h) {
    double norm = 0;
    for (size_t k = 0; k < d; ++k) norm += double(v.r[h * d + k]) * v.r[h * d + k];
    const float factor = norm > 0 ? float(temperature * std::sqrt(double(d)) / std::sqrt(norm)) : 0.0f;
    for (size_t g = 0; g < group; ++g) {
      for (size_t k = 0; k < d; ++k) v.q[(h * group + g) * d + k] = factor * v.r[h * d + k];
    }
  }
  return v;
}

HashingEncoderOptions HashingEncoderOptionsOf(const StoreInfo& store) {
  const auto& m = store.metadata;
  LANDMARK_CHECK_ARG(m.count("encoder") && m.at("encoder") == "hashing" && m.count("encoder.seed"),
                     store.path + ": this store was not made by the hashing text encoder");
  HashingEncoderOptions o;
  o.kv_heads = store.shape.kv_heads;
  o.head_dim = store.shape.head_dim;
  try {
    o.seed = std::stoull(m.at("encoder.seed"));
    if (m.count("encoder.bigram_weight")) o.bigram_weight = std::stof(m.at("encoder.bigram_weight"));
    o.words = m.count("encoder.tokens") && m.at("encoder.tokens") == "words";
  } catch (const std::exception&) {
    LANDMARK_THROW(store.path + ": unreadable encoder parameters in the manifest");
  }
  return o;
}

}  // namespace landmark
