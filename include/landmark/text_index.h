// A text store's search index (docs/text-retrieval.md): BM25 over word
// tokens, the documents table, each chunk's source and removed documents,
// all kept as store attachments committed with the K/V.
//
// Text stores made with word tokens (TextEncoderOptions, manifest
// "text.index": "bm25") align chunks to documents: a document's last chunk
// is padded with blank tokens (no text, zero K/V), so no chunk holds two.
// A question is ranked over every chunk of a live document with
//   idf(t)   = ln((N − df_t + 0.5) / (df_t + 0.5)), or 1e-6 when ≤ 0
//   score(c) = Σ_{t ∈ q} idf(t) · tf_{t,c}·(k1+1) / (tf_{t,c} + k1·(1 − b + b·|c| / avg|c|))
// (SQLite FTS5's bm25(), distinct query terms), N, df and avg|c| counted
// over the live chunks when the index is opened, so appends and removals
// keep them exact. The chunks ranked first are then attended to
// (Retriever::QueryChunks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "landmark/store.h"

namespace landmark {

// The attachments (names in store.h's rules):
inline constexpr const char* kTextDocuments = "text-documents";  // a JSON line per document (as llm-documents)
inline constexpr const char* kTextSources = "text-sources";      // per chunk: i64 document, u64 byte offset (LE)
inline constexpr const char* kTextTerms = "text-terms";    // per chunk: u16 distinct, u16 words, then per
                                                           // distinct term (ascending) u32 term id, u16 tf (LE)
inline constexpr const char* kTextRemoved = "text-removed";  // u64 LE per removed document

// The store was made with a text index (its manifest says so).
bool HasTextIndex(const StoreInfo& info);

struct TextDocument {
  std::string path;          // as given at ingest
  uint64_t bytes = 0;        // of its text
  std::string hash;          // xxh3-64 of its text, 16 hex digits
  uint64_t first_chunk = 0, chunks = 0;
  bool removed = false;
};

// Where a chunk's text lies in its document: bytes [begin, end).
struct TextSource {
  int64_t document = -1;  // index into documents(); -1: unknown
  std::string path;
  uint64_t begin = 0, end = 0;
};

struct Bm25Options {
  double k1 = 1.2, b = 0.75;
};

struct TextHit {
  uint32_t chunk = 0;
  double score = 0;
};

class TextIndex {
 public:
  // Reads the index of `store` (kept by reference; it must outlive this).
  // Throws landmark::Error naming the store for a store without an index or
  // a damaged one.
  explicit TextIndex(const StoreReader& store);

  const std::vector<TextDocument>& documents() const { return documents_; }
  size_t chunks() const { return offsets_.size(); }  // indexed chunks
  size_t live_chunks() const { return live_count_; }
  double average_words() const { return average_words_; }
  bool live(size_t chunk) const { return chunk < live_.size() && live_[chunk]; }
  TextSource source(size_t chunk) const;

  // The k best live chunks for `question`, best first (ties: lower chunk);
  // chunks sharing no term with it are left out.
  std::vector<TextHit> Search(std::string_view question, size_t k, const Bm25Options& options = {}) const;
  // Chunk c's (term id, tf) pairs, ascending, and its word count.
  std::vector<std::pair<uint32_t, uint16_t>> Terms(size_t chunk, uint16_t* words = nullptr) const;

 private:
  const StoreReader& store_;
  std::string_view terms_, sources_;
  std::vector<TextDocument> documents_;
  std::vector<uint64_t> offsets_;  // of each chunk's record in terms_
  std::vector<uint8_t> live_;
  size_t live_count_ = 0;
  double average_words_ = 0;
};

// Marks every live document whose recorded path is `path` as removed
// (kTextRemoved; durable with the next commit). Returns how many.
size_t RemoveTextDocument(StoreWriter& writer, const std::string& path);

}  // namespace landmark
