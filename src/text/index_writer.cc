#include "src/text/index_writer.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "landmark/error.h"
#include "landmark/text_index.h"
#include "src/store/documents.h"

namespace landmark {

std::string ContentHash(std::string_view text) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(text.data(), text.size())));
  return hex;
}

TextIndexWriter::TextIndexWriter(StoreWriter& writer, const HashingEncoderOptions& encoder)
    : writer_(writer), encoder_(encoder) {
  const StoreInfo info = writer.info();
  LANDMARK_CHECK_ARG(HasTextIndex(info) && encoder.words,
                     writer.path() + ": this store has no text index (made before word tokens)");
  S_ = info.shape.chunk_size;
  LANDMARK_CHECK_ARG(S_ <= 0xffff, writer.path() + ": a text index needs chunks of at most 65535 tokens");
  const auto documents = ParseDocuments(writer.attachment(kTextDocuments), writer.path(), kTextDocuments);
  std::vector<uint8_t> removed(documents.size(), 0);
  const std::string_view removed_bytes = writer.attachment(kTextRemoved);
  for (size_t at = 0; at + 8 <= removed_bytes.size(); at += 8) {
    uint64_t d;
    std::memcpy(&d, removed_bytes.data() + at, 8);
    if (d < removed.size()) removed[d] = 1;
  }
  for (size_t d = 0; d < documents.size(); ++d) {
    if (!removed[d]) live_[documents[d].hash] = documents[d].path;
  }
  documents_ = documents.size();
  const uint64_t end = documents.empty() ? 0 : documents.back().first_token + documents.back().tokens;
  const uint64_t tokens = info.tokens, chunks = tokens / S_;
  const uint64_t indexed = writer.attachment(kTextSources).size() / kSourceBytes;
  LANDMARK_CHECK_ARG(indexed == chunks && end <= tokens,
                     writer.path() + ": the text index (" + std::to_string(indexed) + " chunks, documents to token " +
                         std::to_string(end) + ") is out of step with the K/V (" + std::to_string(tokens) +
                         " tokens); the store is damaged");
  writer_.set_auto_commit(false);
  if (tokens > end) {  // an interrupted ingest: keep its chunks out of every answer
    path_ = "(interrupted ingest)";
    first_token_ = end;
    in_chunk_ = tokens % S_;
    End();
    const uint64_t d = documents_ - 1;
    writer_.AppendAttachment(kTextRemoved, &d, 8);
    live_.erase(hash_);
    writer_.Commit();
  }
}

TextIndexWriter::~TextIndexWriter() { writer_.set_auto_commit(true); }

std::string TextIndexWriter::Find(const std::string& hash) const {
  const auto it = live_.find(hash);
  return it == live_.end() ? std::string() : it->second;
}

void TextIndexWriter::Begin(const std::string& path, const std::string& hash) {
  path_ = path;
  hash_ = hash;
  first_token_ = writer_.info().tokens;
  offset_ = chunk_begin_ = last_end_ = 0;
  encoder_.ResetDocument();
}

void TextIndexWriter::Add(std::string_view piece) {
  if (piece.empty()) return;
  encoder_.Encode(piece, encoded_);
  writer_.Append(encoded_.Batch(piece));
  tokens_ += encoded_.tokens;
  for (size_t t = 0; t < encoded_.tokens; ++t) {
    if (encoded_.terms[t]) {
      terms_.push_back(encoded_.terms[t]);
      ++words_;
    }
    last_end_ = offset_ + encoded_.token_text_end[t];
    if (++in_chunk_ == S_) FlushChunk();
  }
  offset_ += piece.size();
  // A long document commits as it goes (every complete chunk has its
  // record here); its table line comes with End().
  if (writer_.commit_every() && pending_chunks_ >= 4 * writer_.commit_every()) {
    writer_.Commit();
    pending_chunks_ = 0;
  }
}

void TextIndexWriter::Pad() {
  if (in_chunk_ == 0) return;
  const size_t pad = S_ - in_chunk_;
  const HashingEncoderOptions& o = encoder_.options();
  const std::vector<float> zeros(pad * o.kv_heads * o.head_dim, 0.0f);
  const std::vector<uint32_t> ends(pad, 0);
  TokenBatch batch;
  batch.tokens = pad;
  batch.keys = zeros.data();
  batch.values = zeros.data();
  batch.token_text_end = ends.data();
  writer_.Append(batch);
  tokens_ += pad;
  in_chunk_ = S_ - 1;
  FlushChunk();
}

void TextIndexWriter::End() {
  Pad();
  StoreDocument d;
  d.path = path_;
  d.bytes = offset_;
  d.hash = hash_;
  d.first_token = first_token_;
  d.tokens = writer_.info().tokens - first_token_;
  const std::string line = DocumentLine(d);
  writer_.AppendAttachment(kTextDocuments, line.data(), line.size());
  live_[hash_] = path_;
  ++documents_;
  if (writer_.commit_every() && pending_chunks_ >= writer_.commit_every()) {
    writer_.Commit();
    pending_chunks_ = 0;
  }
}

void TextIndexWriter::FlushChunk() {
  std::sort(terms_.begin(), terms_.end());
  std::string record(4, '\0');
  uint16_t distinct = 0;
  for (size_t i = 0; i < terms_.size();) {
    size_t j = i;
    while (j < terms_.size() && terms_[j] == terms_[i]) ++j;
    const uint16_t tf = uint16_t(j - i);
    record.append(reinterpret_cast<const char*>(&terms_[i]), 4);
    record.append(reinterpret_cast<const char*>(&tf), 2);
    ++distinct;
    i = j;
  }
  std::memcpy(record.data(), &distinct, 2);
  std::memcpy(record.data() + 2, &words_, 2);
  writer_.AppendAttachment(kTextTerms, record.data(), record.size());
  std::string source;
  AppendSource(source, {int64_t(documents_), chunk_begin_});
  writer_.AppendAttachment(kTextSources, source.data(), source.size());
  terms_.clear();
  words_ = 0;
  in_chunk_ = 0;
  chunk_begin_ = last_end_;
  ++pending_chunks_;
}

}  // namespace landmark
