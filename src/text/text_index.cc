// Reading a text store's index and ranking chunks by BM25 (text_index.h).
#include "landmark/text_index.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>

#include "landmark/encoder.h"
#include "landmark/error.h"
#include "src/store/documents.h"

namespace landmark {
namespace {

template <typename T>
T Read(std::string_view bytes, size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof(T));
  return value;
}

constexpr size_t kTermBytes = 6;  // u32 term id, u16 tf

}  // namespace

bool HasTextIndex(const StoreInfo& info) {
  const auto it = info.metadata.find("text.index");
  return it != info.metadata.end() && it->second == "bm25";
}

TextIndex::TextIndex(const StoreReader& store) : store_(store) {
  const StoreInfo& info = store.info();
  LANDMARK_CHECK_ARG(HasTextIndex(info) && info.has_text,
                     info.path + ": this store has no text index (made before word tokens, or not from text); "
                                 "ingest its files into a new store");
  const size_t S = info.shape.chunk_size;
  for (const StoreDocument& d : ParseDocuments(store.attachment(kTextDocuments), info.path, kTextDocuments)) {
    LANDMARK_CHECK_ARG(d.first_token % S == 0 && d.tokens % S == 0,
                       info.path + ": " + kTextDocuments + ": document " + d.path + " is not chunk-aligned");
    documents_.push_back({d.path, d.bytes, d.hash, d.first_token / S, d.tokens / S, false});
  }
  const std::string_view removed = store.attachment(kTextRemoved);
  LANDMARK_CHECK_ARG(removed.size() % 8 == 0, info.path + ": " + kTextRemoved + " is cut short");
  for (size_t at = 0; at < removed.size(); at += 8) {
    const uint64_t d = Read<uint64_t>(removed, at);
    LANDMARK_CHECK_ARG(d < documents_.size(), info.path + ": " + kTextRemoved + " names document " +
                                                  std::to_string(d) + " of " + std::to_string(documents_.size()));
    documents_[d].removed = true;
  }
  terms_ = store.attachment(kTextTerms);
  sources_ = store.attachment(kTextSources);
  const size_t chunks = std::min(store.chunks(), sources_.size() / kSourceBytes);
  offsets_.reserve(chunks);
  live_.assign(chunks, 0);
  double words = 0;
  for (size_t c = 0, at = 0; c < chunks; ++c) {
    LANDMARK_CHECK_ARG(at + 4 <= terms_.size(), info.path + ": " + kTextTerms + " is cut short at chunk " +
                                                    std::to_string(c) + " of " + std::to_string(chunks));
    const size_t distinct = Read<uint16_t>(terms_, at);
    const size_t next = at + 4 + distinct * kTermBytes;
    LANDMARK_CHECK_ARG(next <= terms_.size(), info.path + ": " + kTextTerms + " is cut short at chunk " +
                                                  std::to_string(c) + " of " + std::to_string(chunks));
    offsets_.push_back(at);
    const int64_t d = ReadSource(sources_, c).document;
    if (d >= 0 && size_t(d) < documents_.size() && !documents_[d].removed) {
      live_[c] = 1;
      ++live_count_;
      words += Read<uint16_t>(terms_, at + 2);
    }
    at = next;
  }
  average_words_ = live_count_ ? words / double(live_count_) : 0;
}

TextSource TextIndex::source(size_t chunk) const {
  TextSource s;
  if (chunk >= offsets_.size()) return s;
  const ChunkSource raw = ReadSource(sources_, chunk);
  if (raw.document < 0 || size_t(raw.document) >= documents_.size()) return s;
  s.document = raw.document;
  s.path = documents_[raw.document].path;
  s.begin = raw.offset;
  s.end = raw.offset + store_.text(chunk).size();
  return s;
}

std::vector<std::pair<uint32_t, uint16_t>> TextIndex::Terms(size_t chunk, uint16_t* words) const {
  LANDMARK_CHECK_ARG(chunk < offsets_.size(), "text index: chunk " + std::to_string(chunk) + " is not indexed");
  const size_t at = offsets_[chunk], distinct = Read<uint16_t>(terms_, at);
  if (words) *words = Read<uint16_t>(terms_, at + 2);
  std::vector<std::pair<uint32_t, uint16_t>> out(distinct);
  for (size_t i = 0; i < distinct; ++i) {
    out[i] = {Read<uint32_t>(terms_, at + 4 + i * kTermBytes), Read<uint16_t>(terms_, at + 8 + i * kTermBytes)};
  }
  return out;
}

std::vector<TextHit> TextIndex::Search(std::string_view question, size_t k, const Bm25Options& o) const {
  std::vector<uint32_t> query;
  for (const auto& [begin, end] : HashingEncoder::TokenizeWords(question)) {
    query.push_back(TermId(question.substr(begin, end - begin)));
  }
  std::sort(query.begin(), query.end());
  query.erase(std::unique(query.begin(), query.end()), query.end());
  if (query.size() > 0xffff) query.resize(0xffff);  // (a match names its term in 16 bits)
  if (query.empty() || k == 0 || live_count_ == 0) return {};
  uint64_t mask = 0;  // a one-word filter: most postings miss it
  for (uint32_t t : query) mask |= uint64_t(1) << (t & 63);
  // One pass: each live chunk's matching terms, and df per query term;
  // ranges of chunks in parallel, merged in chunk order (deterministic).
  struct Match {
    uint32_t chunk;
    uint16_t term, tf;
  };
  const size_t n = offsets_.size(), ranges = std::clamp<size_t>(n / 4096, 1, 64);
  std::vector<std::vector<Match>> parts(ranges);
  std::vector<std::vector<uint64_t>> part_df(ranges, std::vector<uint64_t>(query.size(), 0));
  tbb::parallel_for(size_t(0), ranges, [&](size_t r) {
    std::vector<Match>& matches = parts[r];
    std::vector<uint64_t>& df = part_df[r];
    for (size_t c = r * n / ranges, end = (r + 1) * n / ranges; c < end; ++c) {
      if (!live_[c]) continue;
      const size_t at = offsets_[c], distinct = Read<uint16_t>(terms_, at);
      const char* p = terms_.data() + at + 4;
      for (size_t i = 0; i < distinct; ++i, p += kTermBytes) {
        uint32_t t;
        std::memcpy(&t, p, 4);
        if (!((mask >> (t & 63)) & 1)) continue;
        const auto it = std::lower_bound(query.begin(), query.end(), t);
        if (it == query.end() || *it != t) continue;
        uint16_t tf;
        std::memcpy(&tf, p + 4, 2);
        const auto q = uint16_t(it - query.begin());
        matches.push_back({uint32_t(c), q, tf});
        ++df[q];
      }
    }
  });
  std::vector<Match> matches;
  std::vector<uint64_t> df(query.size(), 0);
  for (size_t r = 0; r < ranges; ++r) {
    matches.insert(matches.end(), parts[r].begin(), parts[r].end());
    for (size_t q = 0; q < query.size(); ++q) df[q] += part_df[r][q];
  }
  const double N = double(live_count_);
  std::vector<double> idf(query.size());
  for (size_t q = 0; q < query.size(); ++q) {
    idf[q] = std::log((N - double(df[q]) + 0.5) / (double(df[q]) + 0.5));
    if (idf[q] <= 0) idf[q] = 1e-6;
  }
  std::vector<TextHit> hits;
  for (size_t i = 0; i < matches.size();) {
    const uint32_t c = matches[i].chunk;
    const double length = Read<uint16_t>(terms_, offsets_[c] + 2);
    const double norm = o.k1 * (1 - o.b + o.b * length / average_words_);
    double score = 0;
    for (; i < matches.size() && matches[i].chunk == c; ++i) {
      const double tf = matches[i].tf;
      score += idf[matches[i].term] * tf * (o.k1 + 1) / (tf + norm);
    }
    hits.push_back({c, score});
  }
  const auto better = [](const TextHit& a, const TextHit& b) {
    return a.score != b.score ? a.score > b.score : a.chunk < b.chunk;
  };
  const size_t keep = std::min(k, hits.size());
  std::partial_sort(hits.begin(), hits.begin() + ptrdiff_t(keep), hits.end(), better);
  hits.resize(keep);
  return hits;
}

size_t RemoveTextDocument(StoreWriter& writer, const std::string& path) {
  const StoreInfo info = writer.info();
  LANDMARK_CHECK_ARG(HasTextIndex(info), writer.path() + ": this store has no text index (no documents to remove)");
  const auto documents = ParseDocuments(writer.attachment(kTextDocuments), writer.path(), kTextDocuments);
  const std::string_view removed_bytes = writer.attachment(kTextRemoved);
  std::vector<uint8_t> removed(documents.size(), 0);
  for (size_t at = 0; at + 8 <= removed_bytes.size(); at += 8) {
    const uint64_t d = Read<uint64_t>(removed_bytes, at);
    if (d < removed.size()) removed[d] = 1;
  }
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::path wanted = fs::weakly_canonical(path, error);
  size_t count = 0;
  for (uint64_t d = 0; d < documents.size(); ++d) {
    if (removed[d]) continue;
    std::error_code e;
    const bool same = documents[d].path == path || (!error && fs::weakly_canonical(documents[d].path, e) == wanted && !e);
    if (!same) continue;
    writer.AppendAttachment(kTextRemoved, &d, 8);
    ++count;
  }
  return count;
}

}  // namespace landmark
