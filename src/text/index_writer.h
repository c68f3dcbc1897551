// Appends documents to a text store and keeps its index (text_index.h) in
// step: K/V of word tokens, chunks padded at each document's end, per chunk
// its terms and source, per document a line in the table. Commits only where
// the index and the K/V agree (auto-commit is paused while it lives).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "landmark/encoder.h"
#include "landmark/store.h"

namespace landmark {

class TextIndexWriter {
 public:
  // Opens the index of `writer`'s store (made with TextStoreOptions of a
  // word encoder). Chunks of a document whose ingest was interrupted
  // (committed before its table line) are recorded as a removed document.
  TextIndexWriter(StoreWriter& writer, const HashingEncoderOptions& encoder);
  ~TextIndexWriter();
  TextIndexWriter(const TextIndexWriter&) = delete;
  TextIndexWriter& operator=(const TextIndexWriter&) = delete;

  // The path of a live document with this content hash (16 hex digits), or "".
  std::string Find(const std::string& hash) const;
  void Begin(const std::string& path, const std::string& hash);
  void Add(std::string_view piece);  // pieces of the document, split at whitespace
  void End();                        // pads the last chunk, records the document
  uint64_t tokens() const { return tokens_; }  // appended by this writer, padding included

 private:
  void FlushChunk();
  void Pad();

  StoreWriter& writer_;
  HashingEncoder encoder_;
  EncodedText encoded_;
  size_t S_, pending_chunks_ = 0;
  std::unordered_map<std::string, std::string> live_;  // hash -> path
  uint64_t documents_ = 0, tokens_ = 0;
  // The document being added.
  std::string path_, hash_;
  uint64_t first_token_ = 0, offset_ = 0, chunk_begin_ = 0, last_end_ = 0;
  // The chunk being filled.
  size_t in_chunk_ = 0;
  std::vector<uint32_t> terms_;
  uint16_t words_ = 0;
};

// xxh3-64 of `text`, 16 hex digits (a document's content hash).
std::string ContentHash(std::string_view text);

}  // namespace landmark
