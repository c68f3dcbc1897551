// The hashing encoder: tokenisation, determinism, unit norms, text spans,
// and the lexical retrieval property the demo relies on.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "landmark/encoder.h"

namespace landmark {
namespace {

double DotProduct(const float* a, const float* b, size_t d) {
  double s = 0;
  for (size_t k = 0; k < d; ++k) s += double(a[k]) * b[k];
  return s;
}

TEST_CASE("hashing: tokenisation into words and single punctuation") {
  const std::string text = "  The pass-key is 12345.\nZürich, ok";
  const auto spans = HashingEncoder::Tokenize(text);
  std::vector<std::string> tokens;
  for (auto [b, e] : spans) tokens.push_back(text.substr(b, e - b));
  CHECK(tokens == std::vector<std::string>{"The", "pass", "-", "key", "is", "12345", ".", "Zürich", ",", "ok"});
  CHECK(HashingEncoder::Tokenize("").empty());
  CHECK(HashingEncoder::Tokenize(" \n\t ").empty());
}

TEST_CASE("hashing: deterministic unit vectors; spans cover the text") {
  HashingEncoderOptions options;
  options.kv_heads = 3;
  options.head_dim = 48;
  HashingEncoder a(options), b(options);
  const std::string text = " alpha beta, Gamma alpha\n";
  EncodedText x, y;
  a.Encode(text, x);
  b.Encode(text, y);
  REQUIRE(x.tokens == 5);
  CHECK(x.keys == y.keys);
  CHECK(x.values == y.values);
  for (size_t i = 0; i < x.tokens * 3; ++i) {
    CHECK(std::fabs(DotProduct(&x.keys[i * 48], &x.keys[i * 48], 48) - 1.0) < 1e-5);
    CHECK(std::fabs(DotProduct(&x.values[i * 48], &x.values[i * 48], 48) - 1.0) < 1e-5);
  }
  CHECK(x.token_text_end == std::vector<uint32_t>{7, 11, 13, 19, uint32_t(text.size())});
  // Same word, same value vector; different context, different key (bigrams).
  CHECK(std::equal(&x.values[0], &x.values[48], &x.values[4 * 3 * 48]));
  CHECK(!std::equal(&x.keys[0], &x.keys[48], &x.keys[4 * 3 * 48]));
  // Case-insensitive: "Gamma" == "gamma"; a different seed changes everything.
  EncodedText g1, g2;
  HashingEncoder(options).Encode("Gamma", g1);
  HashingEncoder(options).Encode("gamma", g2);
  CHECK(g1.values == g2.values);
  options.seed = 7;
  EncodedText other;
  HashingEncoder(options).Encode(text, other);
  CHECK(other.values != x.values);
}

TEST_CASE("hashing: a query scores keys of its words far above others") {
  HashingEncoderOptions options;
  options.head_dim = 128;
  HashingEncoder encoder(options);
  EncodedText doc;
  encoder.Encode("the vault code is purple elephant and nothing else matters here", doc);
  const std::vector<float> q = encoder.EncodeQuery("purple elephant");
  const double q_norm = std::sqrt(DotProduct(q.data(), q.data(), 128));
  double best_match = -1, best_other = -1;  // cosines (keys are unit vectors)
  for (size_t t = 0; t < doc.tokens; ++t) {
    const double s = DotProduct(q.data(), &doc.keys[t * 128], 128) / q_norm;
    (t == 4 || t == 5 ? best_match : best_other) = std::max(t == 4 || t == 5 ? best_match : best_other, s);
  }
  CAPTURE(best_match);
  CAPTURE(best_other);
  CHECK(best_match > 0.6);               // a shared word (and, for "elephant", the pair)
  CHECK(best_other < 0.35);              // random: about N(0, 1/d) per dimension
  CHECK(best_match > 2.5 * best_other);
  // The bigram context continues across pieces until ResetDocument.
  HashingEncoder split(options), whole(options);
  EncodedText p1, p2, w;
  split.Encode("purple ", p1);
  split.Encode("elephant", p2);
  whole.Encode("purple elephant", w);
  CHECK(std::equal(p2.keys.begin(), p2.keys.end(), w.keys.begin() + 128));
  split.ResetDocument();
  split.Encode("elephant", p2);
  CHECK(!std::equal(p2.keys.begin(), p2.keys.end(), w.keys.begin() + 128));
}

}  // namespace
}  // namespace landmark
