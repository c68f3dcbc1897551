#include "perf/bench_ingest.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "landmark/error.h"
#include "landmark/store.h"

namespace landmark::perf {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// A field of /proc/self/status in bytes ("RssAnon", "VmHWM"), 0 if absent.
size_t StatusBytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return size_t(std::stoull(line.substr(field.size() + 1))) * 1024;
  }
  return 0;
}

// Samples anonymous RSS every 20 ms while alive; max() is the peak seen.
class RssSampler {
 public:
  RssSampler() : thread_([this] {
      while (!stop_) {
        peak_ = std::max(peak_.load(), StatusBytes("RssAnon"));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }) {}
  ~RssSampler() {
    stop_ = true;
    thread_.join();
  }
  size_t max() const { return std::max(peak_.load(), StatusBytes("RssAnon")); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<size_t> peak_{0};
  std::thread thread_;
};

}  // namespace

IngestBenchReport BenchIngest(MachineLimits& limits, const IngestBenchOptions& options,
                              const std::function<void(const std::string&)>& progress) {
  IngestBenchReport report;
  std::filesystem::create_directories(options.dir);
  progress(fmt::format("probing disk write bandwidth in {}", options.dir));
  // Best of two: the first may also flush others' dirty pages.
  const size_t probe_bytes = options.quick ? size_t(256) << 20 : size_t(2) << 30;
  limits.disk_write_gbps = std::max(ProbeDiskWrite(options.dir, probe_bytes), ProbeDiskWrite(options.dir, probe_bytes));

  StoreOptions store;
  store.shape.chunk_size = 64;
  store.shape.kv_heads = 8;
  store.shape.head_dim = 128;
  store.shape.dtype = DType::kF16;
  store.shape.landmark = LandmarkKind::kMean;
  const size_t token_bytes = 2 * store.shape.kv_heads * store.shape.head_dim * SizeOf(store.shape.dtype);
  // One batch of f32 tokens, appended over and over: the generator costs nothing.
  const size_t batch_tokens = 4096;
  std::vector<float> keys(batch_tokens * store.shape.kv_heads * store.shape.head_dim), values(keys.size());
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = normal(rng), values[i] = normal(rng);
  TokenBatch batch;
  batch.tokens = batch_tokens;
  batch.keys = keys.data();
  batch.values = values.data();
  report.input_buffer_bytes = 2 * keys.size() * sizeof(float);

  const std::vector<size_t> sizes = options.quick ? std::vector<size_t>{size_t(64) << 20, size_t(256) << 20}
                                                  : std::vector<size_t>{size_t(1) << 30, size_t(8) << 30};
  for (size_t target : sizes) {
    const std::string dir = options.dir + "/store-" + std::to_string(target >> 20) + "M";
    std::filesystem::remove_all(dir);
    const size_t tokens = target / token_bytes;
    const std::string label = target >= (size_t(1) << 30) ? fmt::format("{} GiB", target >> 30)
                                                          : fmt::format("{} MiB", target >> 20);
    progress(fmt::format("ingesting {} ({} tokens, H_kv 8, d 128, f16) into {}", label, tokens, dir));
    size_t peak_rss = 0;
    const auto start = Clock::now();
    {
      RssSampler rss;
      StoreWriter writer = StoreWriter::Create(dir, store);
      for (size_t done = 0; done < tokens; done += batch_tokens) {
        batch.tokens = std::min(batch_tokens, tokens - done);
        writer.Append(batch);
      }
      writer.Close();
      peak_rss = rss.max();
    }
    const double seconds = Seconds(start, Clock::now());
    const StoreInfo info = ReadStoreInfo(dir);
    BenchResult r{"ingest", "f16", fmt::format("{} store, f32 in", label), double(info.kv_bytes + info.landmark_bytes),
                  Limit::kDiskWrite, "", seconds};
    report.throughput.push_back(r);
    report.rows.push_back({fmt::format("peak anonymous RSS, {} store", label), double(peak_rss) / double(1 << 20), "MiB",
                           "<= 256 MiB", peak_rss <= (size_t(256) << 20)});

    // Open time: only the manifest is read and the files mapped.
    const bool cold = options.drop_caches && DropPageCache();
    const auto open_start = Clock::now();
    const StoreReader reader = StoreReader::Open(dir);
    const double open_ms = Seconds(open_start, Clock::now()) * 1e3;
    report.rows.push_back({fmt::format("open time, {} store ({})", label, cold ? "cold cache" : "warm cache"),
                           open_ms, "ms", "< 50 ms", open_ms < 50});
    if (!options.keep) std::filesystem::remove_all(dir);
  }
  return report;
}

}  // namespace landmark::perf
