#include "perf/bench_cross_decoder.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>

#include "src/gmu/cross_decoder.h"
#include "landmark/error.h"
#include "landmark/store.h"
#include "perf/bench_report.h"
#include "perf/synthetic_store.h"
#include "src/attention/dense_over_store.h"
#include "testing/random_weights.h"

namespace landmark::perf {
namespace {

namespace fs = std::filesystem;

constexpr size_t kKvHeads = 2;

// configs/cross-decoder-16x2048{,-all-hsa}.toml (quick: a small stack).
CrossDecoderConfig StackConfig(bool quick, bool gmu) {
  const std::string text = fmt::format(
      "[cross_decoder]\nd_model = {}\nq_heads = {}\nhead_dim = {}\nlayers = {}\npattern = \"{}\"\n"
      "[retrieval]\ntop_k = 64\nfusion = \"joint\"\n",
      quick ? 256 : 2048, quick ? 4 : 16, quick ? 64 : 128, quick ? 4 : 16, gmu ? "alternate" : "all-hsa");
  return ParseCrossDecoderConfig(text, gmu ? "gmu-alternate" : "all-hsa");
}

}  // namespace

std::vector<CrossDecoderBenchRow> BenchCrossDecoder(const MachineLimits& limits,
                                                    const CrossDecoderBenchOptions& options,
                                                    const std::function<void(const std::string&)>& progress) {
  CrossDecoderBenchOptions o = options;
  if (o.sizes.empty()) {
    o.sizes = o.quick ? std::vector<size_t>{size_t(1) << 14}
                      : std::vector<size_t>{size_t(1) << 15, size_t(1) << 20, size_t(1) << 22};
  }
  if (o.batches.empty()) o.batches = {1, 8};
  fs::create_directories(o.dir);
  const CrossDecoderConfig stacks[2] = {StackConfig(o.quick, false), StackConfig(o.quick, true)};
  std::string weights[2];
  for (int s = 0; s < 2; ++s) {
    weights[s] = o.dir + "/" + (s ? "gmu-alternate" : "all-hsa") + ".safetensors";
    progress(fmt::format("writing random bf16 weights: {}", weights[s]));
    WriteRandomCrossDecoderWeights(stacks[s], weights[s], DType::kBF16, 7 + s);
  }
  const size_t D = stacks[0].d_model, d = stacks[0].head_dim, G = stacks[0].q_heads / kKvHeads;
  std::vector<CrossDecoderBenchRow> rows;
  for (size_t n : o.sizes) {
    const std::string dir = o.dir + "/n" + std::to_string(n);
    progress(fmt::format("building {} tokens × {} kv heads (d {}, f16)", n, kKvHeads, d));
    BuildStore(dir, n, kKvHeads, G, d, 0, uint32_t(n), progress);
    const StoreReader store = StoreReader::Open(dir);

    // Dense baseline: one layer's queries over every token, warm.
    std::vector<float> q(stacks[0].q_heads * d, 0.1f), out(q.size());
    DenseDecodeOverStore(store, q.data(), stacks[0].q_heads, out.data(), nullptr);
    const auto t0 = Clock::now();
    DenseDecodeOverStore(store, q.data(), stacks[0].q_heads, out.data(), nullptr);
    const double dense_layer_ms = Millis(t0, Clock::now());

    for (size_t batch : o.batches) {
      std::vector<float> hidden(batch * D), next(batch * D);
      std::mt19937 rng{uint32_t(batch)};
      std::normal_distribution<float> normal;
      for (float& x : hidden) x = normal(rng);
      double all_hsa_ms = 0;
      for (int s = 0; s < 2; ++s) {
        const CrossDecoderConfig& c = stacks[s];
        progress(fmt::format("{} tokens, batch {}: {} ({} layers)", n, batch, s ? "gmu-alternate" : "all-hsa",
                             c.layers.size()));
        const CrossDecoder decoder(store, c, weights[s]);
        CrossDecoderStats stats;
        std::vector<double> ms;
        for (size_t step = 0; step < o.steps + 2; ++step) {
          const auto start = Clock::now();
          decoder.Forward(hidden.data(), batch, {}, next.data(), &stats);
          if (step >= 2) ms.push_back(Millis(start, Clock::now()));
        }
        std::sort(ms.begin(), ms.end());
        CrossDecoderBenchRow r;
        r.stack = s ? "gmu-alternate" : "all-hsa";
        r.tokens = n;
        r.batch = batch;
        r.layers = c.layers.size();
        r.hsa_layers = c.hsa_layers();
        r.d_model = D;
        r.step_ms = ms[ms.size() / 2];
        for (size_t i = 0; i < c.layers.size(); ++i) {
          r.weight_bytes += double(stats.weight_bytes[i]);
          r.store_bytes += double(stats.store_bytes[i]);
          r.memory_bytes += double(stats.memory_bytes[i]);
          if (c.layers[i].kind == LayerKind::kHsa) r.hsa_layer_io = double(stats.store_bytes[i]) / double(batch);
          if (c.layers[i].kind == LayerKind::kGmu) r.gmu_layer_io = double(stats.memory_bytes[i]) / double(batch);
        }
        r.limit_ms = (r.weight_bytes + r.store_bytes + r.memory_bytes) / (limits.read_gbps_all * 1e9) * 1e3;
        r.dense_ms = dense_layer_ms * double(batch) * double(c.layers.size());
        if (s == 0) all_hsa_ms = r.step_ms;
        r.speedup = all_hsa_ms / r.step_ms;
        rows.push_back(r);
      }
    }
    if (!o.keep) fs::remove_all(dir);
  }
  if (!o.keep) {
    for (const auto& w : weights) fs::remove(w);
  }
  return rows;
}

void PrintCrossDecoderTable(std::FILE* out, const std::vector<CrossDecoderBenchRow>& rows) {
  fmt::print(out, "{:<14} {:>8} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6} {:>11} {:>10} {:>8} {:>8}\n", "stack",
             "tokens", "batch", "step", "weights", "store", "limit", "ratio", "", "hsa layer", "gmu layer", "speedup",
             "vs dense");
  for (const CrossDecoderBenchRow& r : rows) {
    fmt::print(out, "{:<14} {:>8} {:>5} {:>7.2f}ms {:>6.0f}MiB {:>6.1f}MiB {:>7.2f}ms {:>9.2f} {:>6} {:>8.2f}MiB {:>8.1f}KiB "
               "{:>7.2f}x {:>7.0f}x\n",
               r.stack, r.tokens, r.batch, r.step_ms, r.weight_bytes / double(1 << 20), r.store_bytes / double(1 << 20),
               r.limit_ms, r.limit_ms / r.step_ms, "", r.hsa_layer_io / double(1 << 20), r.gmu_layer_io / 1024.0,
               r.speedup, r.dense_ms / r.step_ms);
  }
}

void WriteCrossDecoderCsv(const std::string& path, const MachineLimits& limits,
                          const std::vector<CrossDecoderBenchRow>& rows) {
  std::ofstream csv = OpenCsv(path);
  csv << "stack,tokens,batch,layers,hsa_layers,d_model,step_ms,weight_bytes,store_bytes,memory_bytes,limit_ms,ratio,"
         "hsa_layer_io,gmu_layer_io,dense_ms,speedup,read_gbps_all,cpu\n";
  for (const CrossDecoderBenchRow& r : rows) {
    csv << fmt::format("{},{},{},{},{},{},{:.4f},{:.0f},{:.0f},{:.0f},{:.4f},{:.4f},{:.0f},{:.0f},{:.3f},{:.4f},{:.2f},{}\n",
                       r.stack, r.tokens, r.batch, r.layers, r.hsa_layers, r.d_model, r.step_ms, r.weight_bytes,
                       r.store_bytes, r.memory_bytes, r.limit_ms, r.limit_ms / r.step_ms, r.hsa_layer_io,
                       r.gmu_layer_io, r.dense_ms, r.speedup, limits.read_gbps_all, Quoted(limits.cpu));
  }
  LANDMARK_CHECK_ARG(csv.good(), path + ": write failed");
}

}  // namespace landmark::perf
