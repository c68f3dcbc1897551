#include "perf/bench_decode.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "landmark/error.h"
#include "landmark/npy.h"
#include "landmark/retriever.h"
#include "landmark/store.h"
#include "perf/bench_report.h"
#include "perf/synthetic_store.h"
#include "src/attention/dense_over_store.h"

namespace landmark::perf {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Millis(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count() * 1e3; }

double Median(std::vector<double> x) {
  if (x.empty()) return 0;
  std::sort(x.begin(), x.end());
  return x[x.size() / 2];
}

DecodeBenchRow Measure(const std::string& config, const std::string& dir, size_t n, size_t H, size_t G, size_t d,
                       const MachineLimits& limits, const DecodeBenchOptions& o,
                       const std::function<void(const std::string&)>& progress) {
  DecodeBenchRow row;
  row.config = config;
  row.tokens = n;
  row.kv_heads = H;
  row.group = G;
  row.d = d;
  progress(fmt::format("building {} tokens × {} kv heads (d {}, f16) in {}", n, H, d, dir));
  const Planted planted = BuildStore(dir, n, H, G, d, o.needles, uint32_t(n * 31 + H), progress);
  RetrieverConfig rc;
  rc.q_heads = H * G;
  rc.top_k = o.top_k;
  const size_t q_size = H * G * d;
  // Cold first: mapped pages survive drop_caches, so nothing may hold the
  // store mapped; each cold query opens it anew (reading only the manifest).
  if (o.cold && DropPageCache()) {
    progress("querying cold (store reopened after the page cache is dropped)");
    std::vector<double> cold;
    for (size_t i = 0; i < o.needles; ++i) {
      DropPageCache();
      const auto start = Clock::now();
      const StoreReader fresh = StoreReader::Open(dir);
      Retriever(fresh, rc).Query({planted.queries.data() + i * q_size, nullptr, kLastPosition});
      cold.push_back(Millis(start, Clock::now()));
    }
    row.cold_ms = Median(cold);
  }

  const StoreReader store = StoreReader::Open(dir);
  const Retriever retriever(store, rc);
  auto query = [&](size_t i) { return retriever.Query({planted.queries.data() + i * q_size, nullptr, kLastPosition}); };

  progress(fmt::format("querying {} planted needles (warm)", o.needles));
  std::vector<double> warm;
  size_t found = 0, total = 0;
  for (size_t i = 0; i < o.needles; ++i) {
    RetrievalResult r = query(i);  // warms the pages this query reads
    double best = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
      const auto start = Clock::now();
      r = query(i);
      best = std::min(best, Millis(start, Clock::now()));
    }
    warm.push_back(best);
    row.bytes += double(r.bytes_touched) / double(o.needles);
    for (const SelectionExplanation& s : r.selections) {
      found += std::find(s.chunks.begin(), s.chunks.end(), planted.chunks[i]) != s.chunks.end();
      ++total;
    }
  }
  row.warm_ms = Median(warm);
  row.recall = double(found) / double(std::max<size_t>(1, total));
  row.landmark_bytes = double(store.chunks()) * store.shape().landmark_bytes_per_chunk();
  row.limit_ms = row.bytes / (limits.read_gbps_all * 1e9) * 1e3;

  progress("dense exact decode of the whole store (warm)");
  std::vector<float> out(q_size), lse(H * G);
  DenseDecodeOverStore(store, planted.queries.data(), H * G, out.data(), lse.data());  // warm-up
  double best = 1e30;
  for (int rep = 0; rep < 2; ++rep) {
    const auto start = Clock::now();
    DenseDecodeOverStore(store, planted.queries.data(), H * G, out.data(), lse.data());
    best = std::min(best, Millis(start, Clock::now()));
  }
  row.dense_ms = best;
  if (o.keep) {
    row.store = dir;
    WriteNpy(dir + "/needle-queries.npy", planted.queries.data(), DType::kF32, {o.needles, H * G, d});
  } else {
    fs::remove_all(dir);
  }
  return row;
}

}  // namespace

std::vector<DecodeBenchRow> BenchDecode(const MachineLimits& limits, const DecodeBenchOptions& options,
                                        const std::function<void(const std::string&)>& progress) {
  DecodeBenchOptions o = options;
  if (o.sizes.empty()) {
    o.sizes = o.quick ? std::vector<size_t>{size_t(1) << 14, size_t(1) << 16}
                      : std::vector<size_t>{size_t(1) << 17, size_t(1) << 20, size_t(1) << 22, size_t(1) << 24};
  }
  fs::create_directories(o.dir);
  std::vector<DecodeBenchRow> rows;
  for (size_t n : o.sizes) {
    rows.push_back(Measure("1 kv head, G 4", o.dir + "/n" + std::to_string(n), n, 1, 4, 128, limits, o, progress));
  }
  if (o.headline) {
    const size_t n = o.quick ? size_t(1) << 16 : size_t(1) << 20;
    rows.push_back(Measure("headline: Hkv 8, G 4", o.dir + "/headline", n, 8, 4, 128, limits, o, progress));
  }
  return rows;
}

void PrintDecodeTable(std::FILE* out, const std::vector<DecodeBenchRow>& rows) {
  fmt::print(out, "{:<22} {:>9} {:>9} {:>9} {:>10} {:>9} {:>7} {:>10} {:>8} {:>7}\n", "store", "tokens", "warm",
             "cold", "read/query", "limit", "ratio", "dense", "speedup", "recall");
  for (const DecodeBenchRow& r : rows) {
    fmt::print(out, "{:<22} {:>9} {:>7.2f}ms {:>7} {:>7.1f}MiB {:>7.2f}ms {:>7.2f} {:>8.1f}ms {:>7.0f}x {:>6.0f}%\n",
               r.config, r.tokens, r.warm_ms, r.cold_ms > 0 ? fmt::format("{:.1f}ms", r.cold_ms) : "-",
               r.bytes / double(1 << 20), r.limit_ms, r.limit_ms / r.warm_ms, r.dense_ms, r.dense_ms / r.warm_ms,
               100 * r.recall);
  }
}

void WriteDecodeCsv(const std::string& path, const MachineLimits& limits, const std::vector<DecodeBenchRow>& rows) {
  const fs::path p(path);
  std::error_code error;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), error);
  std::ofstream csv(p);
  LANDMARK_CHECK_ARG(csv.good(), path + ": cannot open for writing");
  csv << "config,tokens,kv_heads,group,d,warm_ms,cold_ms,bytes_per_query,landmark_bytes,limit_ms,ratio,dense_ms,"
         "speedup,recall,read_gbps_all,cpu\n";
  for (const DecodeBenchRow& r : rows) {
    csv << fmt::format("\"{}\",{},{},{},{},{:.4f},{:.4f},{:.0f},{:.0f},{:.4f},{:.4f},{:.4f},{:.2f},{:.4f},{:.2f},\"{}\"\n",
                       r.config, r.tokens, r.kv_heads, r.group, r.d, r.warm_ms, r.cold_ms, r.bytes, r.landmark_bytes,
                       r.limit_ms, r.limit_ms / r.warm_ms, r.dense_ms, r.dense_ms / r.warm_ms, r.recall,
                       limits.read_gbps_all, limits.cpu);
  }
  LANDMARK_CHECK_ARG(csv.good(), path + ": write failed");
}

}  // namespace landmark::perf
