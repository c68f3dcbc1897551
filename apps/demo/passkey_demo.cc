#include "apps/demo/passkey_demo.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "landmark/encoder.h"
#include "landmark/error.h"
#include "landmark/retriever.h"
#include "src/attention/dense_over_store.h"
#include "apps/demo/haystack.h"

namespace landmark::demo {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr const char* kDemoVersion = "1";

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

std::string StoreName(const PasskeyDemoOptions& o) {
  return "passkey-v" + std::string(kDemoVersion) + "-n" + std::to_string(o.tokens) + "-needles" +
         std::to_string(o.needles) + "-d" + std::to_string(o.head_dim) + "-seed" + std::to_string(o.seed);
}

// A cached store is reused only if it is the one these options make and verifies.
bool Reusable(const std::string& dir, const PasskeyDemoOptions& o, const DemoLog& log) {
  if (!fs::exists(fs::path(dir) / "manifest.json")) return false;
  try {
    const StoreInfo info = ReadStoreInfo(dir);
    const auto it = info.metadata.find("demo");
    if (it == info.metadata.end() || it->second != StoreName(o)) return false;
    const std::vector<std::string> problems = VerifyStore(dir);
    if (!problems.empty()) {
      log("the cached store does not verify (" + problems[0] + "); rebuilding");
      return false;
    }
    return true;
  } catch (const Error& e) {
    log(std::string("the cached store is unusable (") + e.what() + "); rebuilding");
    return false;
  }
}

}  // namespace

bool NeedleResult::recalled() const { return rank != size_t(-1); }

std::string DefaultCacheDir() {
  if (const char* dir = std::getenv("LANDMARK_CACHE_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/landmark";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/landmark";
  return (fs::temp_directory_path() / "landmark-cache").string();
}

PasskeyDemoReport RunPasskeyDemo(const PasskeyDemoOptions& o, const DemoLog& log, const IngestProgressFn& progress) {
  PasskeyDemoReport report;
  const std::string base = (fs::path(o.cache_dir.empty() ? DefaultCacheDir() : o.cache_dir) / StoreName(o)).string();
  report.store_path = base + "/store";
  const Haystack haystack = GenerateHaystack({o.tokens, o.needles, o.seed});
  HashingEncoderOptions encoder;
  encoder.head_dim = o.head_dim;
  report.reused = !o.rebuild && Reusable(report.store_path, o, log);
  if (!report.reused) {
    const auto start = Clock::now();
    fs::remove_all(base);
    fs::create_directories(base);
    const std::string text_path = base + "/haystack.txt";
    std::ofstream(text_path, std::ios::binary).write(haystack.text.data(), std::streamsize(haystack.text.size()));
    StoreOptions options = TextStoreOptions(encoder);
    options.metadata["demo"] = StoreName(o);
    StoreWriter writer = StoreWriter::Create(report.store_path, options);
    TextIngestOptions text;
    text.encoder = encoder;
    text.strict = true;
    IngestText(writer, {text_path}, text, progress);
    writer.Close();
    report.build_seconds = Seconds(start, Clock::now());
  }
  const StoreReader store = StoreReader::Open(report.store_path);
  report.info = store.info();

  // Byte range of each chunk's text, to locate the needles' chunks.
  const size_t chunk_count = store.chunks() + (report.info.tail_tokens ? 1 : 0);
  std::vector<size_t> text_end(chunk_count);
  for (size_t c = 0, end = 0; c < chunk_count; ++c) text_end[c] = end += store.text(c).size();
  auto chunk_of = [&](size_t byte) {
    return size_t(std::upper_bound(text_end.begin(), text_end.end(), byte) - text_end.begin());
  };

  RetrieverConfig config;
  config.top_k = o.top_k;
  const Retriever retriever(store, config);
  const HashingEncoder query_encoder(HashingEncoderOptionsOf(report.info));
  // Two passes over the questions: the first finds the store's pages cold
  // (a fresh build drops them from the page cache), the second warm.
  std::vector<double> cold;
  for (int pass = 0; pass < 2; ++pass) {
  std::vector<double> latencies;
  report.needles.clear();
  report.recalled = report.answered = 0;
  report.mean_bytes = 0;
  for (const Needle& needle : haystack.needles) {
    NeedleResult n;
    n.vault = needle.vault;
    n.key = needle.key;
    n.depth = double(needle.begin) / double(haystack.text.size());
    n.first_chunk = chunk_of(needle.begin);
    n.last_chunk = chunk_of(needle.end - 1);
    const HashingEncoder::QueryVectors v = query_encoder.EncodeTextQuery(needle.question(), 1, o.temperature);
    const auto start = Clock::now();
    const RetrievalResult result = retriever.Query({v.q.data(), v.r.data(), kLastPosition});
    n.seconds = Seconds(start, Clock::now());
    n.bytes = result.bytes_touched;
    const SelectionExplanation& sel = result.selections[0];
    n.rank = size_t(-1);
    for (size_t i = 0; i < sel.chunks.size(); ++i) {
      if (sel.chunks[i] >= n.first_chunk && sel.chunks[i] <= n.last_chunk) {
        n.rank = i;
        break;
      }
    }
    if (!sel.chunks.empty()) {
      const size_t best = size_t(std::max_element(sel.weights.begin(), sel.weights.end()) - sel.weights.begin());
      n.top_chunk = sel.chunks[best];
      std::string text;  // the chunk and its neighbours: a sentence may cross an edge
      for (size_t c = n.top_chunk ? n.top_chunk - 1 : 0; c <= std::min(n.top_chunk + 1, chunk_count - 1); ++c) {
        text += store.text(c);
      }
      n.answer = FindPassKey(text, n.vault);
    }
    report.recalled += n.recalled();
    report.answered += n.answer == n.key;
    latencies.push_back(n.seconds * 1e3);
    report.mean_bytes += n.bytes / haystack.needles.size();
    report.needles.push_back(n);
  }
  std::sort(latencies.begin(), latencies.end());
  if (!latencies.empty()) {
    const double median = latencies[latencies.size() / 2];
    const double p95 = latencies[std::min(latencies.size() - 1, latencies.size() * 95 / 100)];
    (pass == 0 ? report.cold_median_ms : report.median_ms) = median;
    (pass == 0 ? report.cold_p95_ms : report.p95_ms) = p95;
  }
  }

  // Dense exact attention over the same store, for the first question.
  if (o.dense_repeats > 0 && !haystack.needles.empty()) {
    const HashingEncoder::QueryVectors v =
        query_encoder.EncodeTextQuery(haystack.needles[0].question(), 1, o.temperature);
    std::vector<float> out(v.q.size()), lse(1);
    double best = 1e30;
    for (size_t i = 0; i < o.dense_repeats; ++i) {
      const auto start = Clock::now();
      DenseDecodeOverStore(store, v.q.data(), 1, out.data(), lse.data());
      best = std::min(best, Seconds(start, Clock::now()));
    }
    report.dense_ms = best * 1e3;
  }
  return report;
}

}  // namespace landmark::demo
