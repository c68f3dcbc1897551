// The built-in `hashing` text encoder (no weights). It gives lexical
// retrieval through attention, so the whole pipeline runs on real text:
//
// Tokens: maximal runs of word bytes (ASCII letters, digits, '_', and every
// byte >= 0x80, i.e. all non-ASCII UTF-8) are words; every other non-space
// byte is a token by itself; whitespace separates tokens and belongs to the
// text of the token before it (leading space to the first token), so chunk
// texts concatenate back to the document.
// Words are compared ASCII-case-insensitively.
//
// Word tokens (options.words, the default of text stores since issue 16,
// manifest "encoder.tokens": "words"): a token is a maximal run of Unicode
// letters, marks and digits (regex \w without '_'); punctuation, symbols
// and spaces are no tokens but belong to the text of the word before them
// (leading ones to the first word), so runs of punctuation weigh nothing.
// A piece without any word is one blank token (term 0) carrying its text.
//
// Embedding e_h(x): a pseudo-random unit vector in R^d derived from
// xxh3-64(x, seed + h) (splitmix64 stream, components uniform in [-1, 1),
// normalised). For token w_i with predecessor w_{i-1} in the same document:
//   key_h   = normalise(e_h(w_i) + β · e_h(w_{i-1} w_i))   (β = bigram_weight)
//   value_h = e_h(w_i)
// A query's vector is Σ_i e_h(w_i) + β·e_h(w_{i-1} w_i) over its tokens, so
// q·k counts the words and word pairs a key shares with the question.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "landmark/store.h"

namespace landmark {

struct HashingEncoderOptions {
  size_t kv_heads = 1;
  size_t head_dim = 256;  // retrieval noise falls as 1/sqrt(d): see README "Text encoder"
  uint64_t seed = 0x6c616e646d61726bull;  // "landmark"
  float bigram_weight = 0.5f;
  bool words = false;  // word tokens (above); false: the byte tokens of the first stores
};

// The encoder of new text stores (CLI, C API): word tokens and small keys —
// ranking is BM25's (text_index.h), attention only reads the chosen chunks.
HashingEncoderOptions TextEncoderOptions();

// The term id of a word (its ASCII-lowercased bytes, xxh3-64, low 32 bits;
// never 0): what a text store's BM25 index counts.
uint32_t TermId(std::string_view word);

struct EncodedText {
  size_t tokens = 0;
  std::vector<float> keys;    // [tokens][kv_heads][head_dim]
  std::vector<float> values;  // [tokens][kv_heads][head_dim]
  std::vector<uint32_t> token_text_end;  // end of each token's text in the input
  std::vector<uint32_t> terms;           // words: each token's TermId (0: a blank token)

  // The tokens as a store append of `text` (the piece they were encoded
  // from); valid while this and `text` live.
  TokenBatch Batch(std::string_view text) const {
    TokenBatch batch;
    batch.tokens = tokens;
    batch.keys = keys.data();
    batch.values = values.data();
    batch.text = text;
    batch.token_text_end = token_text_end.data();
    return batch;
  }
};

class HashingEncoder {
 public:
  explicit HashingEncoder(const HashingEncoderOptions& options = {});
  const HashingEncoderOptions& options() const { return options_; }

  // Encodes `text` (a piece of the current document; pieces must split at
  // whitespace). The bigram context carries over to the next piece.
  void Encode(std::string_view text, EncodedText& out);
  // Starts a new document: the next token has no predecessor.
  void ResetDocument() { previous_ = 0; }

  // The query vector of `text`: Σ e_h(w_i) + β·e_h(w_{i-1} w_i) per head,
  // [kv_heads][head_dim] (not normalised).
  std::vector<float> EncodeQuery(std::string_view text) const;

  // Query vectors for the retrieval engine from a question:
  //   r_h = EncodeQuery(text)_h                 (retrieval query, per kv head)
  //   q_hg = temperature · sqrt(d) · r_h / ‖r_h‖  (each of the G query heads)
  // so a query token matching a key token gets a logit near `temperature`
  // times their cosine. q: [kv_heads · G][d], r: [kv_heads][d].
  struct QueryVectors {
    std::vector<float> q, r;
  };
  QueryVectors EncodeTextQuery(std::string_view text, size_t group = 1, float temperature = 16.0f) const;

  // Token byte spans [begin, end) of `text` (exposed for tests and tools).
  static std::vector<std::pair<uint32_t, uint32_t>> Tokenize(std::string_view text);
  // Word spans [begin, end) of `text` (word tokens); invalid UTF-8 bytes
  // separate words.
  static std::vector<std::pair<uint32_t, uint32_t>> TokenizeWords(std::string_view text);

 private:
  void Embed(uint64_t hash, size_t head, float* out) const;  // e_h, unit norm
  uint64_t HashToken(std::string_view token) const;

  HashingEncoderOptions options_;
  uint64_t previous_ = 0;  // hash of the previous token (0: none)
  std::vector<float> scratch_;
};

// The encoder a text store was made with (its manifest's metadata); throws
// landmark::Error if the store was not made by the hashing encoder.
HashingEncoderOptions HashingEncoderOptionsOf(const StoreInfo& store);

}  // namespace landmark
