// `landmark bench text`: text retrieval on real text that ships with Debian
// (/usr/share/common-licenses, /usr/share/doc), landmark's text path beside
// SQLite FTS5 (BM25) over the same chunks and questions: top-1 accuracy,
// ingest time, query time, bytes per token, peak RSS.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace landmark::perf {

struct TextBenchOptions {
  std::vector<std::string> roots = {"/usr/share/common-licenses", "/usr/share/doc"};
  size_t words = 1200000;   // corpus size: files are taken in sorted order until this many words
  size_t pass_keys = 8;     // planted "The pass key for vault N is K." sentences
  size_t questions = 92;    // real questions from distinctive passages
  size_t chunk_size = 64;
  size_t show = 5;          // "among the first n" accuracy too
  uint64_t seed = 16;
  std::string dir;          // scratch: the haystack copy, the store, the FTS5 database
};

struct TextBenchSystem {
  std::string name;
  size_t top1 = 0, top_n = 0, questions = 0;
  size_t pass_top1 = 0;  // of them, planted pass keys right first
  double ingest_s = 0, open_ms = 0, query_ms = 0;  // query: mean per question, warm
  double bytes = 0, bytes_per_token = 0;
};

struct TextBenchReport {
  size_t files = 0, words = 0, tokens = 0, chunks = 0, input_bytes = 0;
  double peak_rss_mib = 0;         // after landmark's ingest (the process's peak so far)
  double legacy_bytes_per_token = 0;  // the first text stores: d 256 f16 K and V, text, landmarks
  std::vector<TextBenchSystem> systems;  // landmark, fts5
  std::vector<std::string> misses;       // landmark's missed questions (for reading)
};

TextBenchReport BenchText(const TextBenchOptions& options, const std::function<void(const std::string&)>& progress);

}  // namespace landmark::perf
