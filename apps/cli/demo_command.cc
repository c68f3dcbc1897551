// `landmark demo`: README command 1's main job (see apps/demo/passkey_demo.h).
#include <fmt/core.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "apps/cli/commands.h"
#include "apps/cli/format.h"
#include "apps/cli/progress.h"
#include "landmark/error.h"
#include "apps/demo/model_demo.h"
#include "apps/demo/passkey_demo.h"

namespace landmark::cli {
namespace {

struct DemoArgs {
  demo::PasskeyDemoOptions options;
  demo::ModelDemoOptions model;
  std::string encoder = "model", task = "single";
  bool rebuild = false, all = false;
};

void RunModel(const DemoArgs& a) {
  demo::ModelDemoOptions o = a.model;
  o.tokens = a.options.tokens;
  o.seed = a.options.seed;
  o.cache_dir = a.options.cache_dir;
  o.rebuild = a.rebuild;
  o.task = demo::ParseModelTask(a.task);
  const bool multivalue = o.task == demo::ModelTask::kMultiValue;
  std::printf("landmark demo: landmark's byte model answers %zu pass-key questions (%s) over %s tokens of held-out "
              "text on disk\n",
              multivalue ? o.needles / 2 : o.needles, a.task.c_str(), Count(double(o.tokens)).c_str());
  std::fflush(stdout);
  Progress progress;
  bool building = false;
  const demo::ModelDemoReport r = demo::RunModelDemo(
      o, [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); },
      [&](const demo::ModelDemoProgress& p) {
        if (!building) std::fprintf(stderr, "ingesting the haystack through the model (once; cached for later runs)...\n");
        building = true;
        progress.Update(double(p.tokens) / double(std::max<uint64_t>(1, p.total)),
                        fmt::format("{} tokens  {} tok/s", Count(double(p.tokens)),
                                    Count(double(p.tokens) / std::max(p.seconds, 1e-3))));
      });
  progress.Finish();
  const ModelConfig& c = r.config;
  std::printf("model: %s (%s parameters; d %zu, %zu heads, window %zu, chunk %zu, top-%zu, %zu lower + %zu upper blocks)\n",
              r.model_path.c_str(), Count(double(c.parameters())).c_str(), c.d_model, c.heads, c.window, c.chunk,
              c.top_k, c.lower, c.upper.size());
  std::printf("store: %s\n       %s tokens, %s of K/V and landmarks; ingest %s%.1f s: %s tokens/s (%.1f GFLOP/s in the "
              "lower blocks, %.1f GFLOP per CPU-second)\n",
              r.store_path.c_str(), Count(double(r.tokens)).c_str(), Bytes(double(r.store_bytes)).c_str(),
              r.reused ? "(cached, when built) " : "", r.ingest_seconds,
              Count(double(r.tokens) / std::max(r.ingest_seconds, 1e-9)).c_str(),
              double(r.tokens) * c.ingest_flops_per_token() / std::max(r.lower_seconds, 1e-9) / 1e9,
              double(r.tokens) * c.ingest_flops_per_token() / std::max(r.ingest_cpu_seconds, 1e-9) / 1e9);
  const int w = multivalue ? 12 : 8;
  std::printf("\n  %-6s %-7s %-*s %-*s %-5s %-9s %-10s %s\n", "vault", "depth", w, "pass key", w, "answer", "ok",
              "retrieved", "latency", "read");
  const size_t shown = a.all ? r.answers.size() : std::min<size_t>(12, r.answers.size());
  for (size_t i = 0; i < shown; ++i) {
    const demo::ModelAnswerResult& x = r.answers[i];
    std::printf("  %-6u %5.1f%%  %-*s %-*s %-5s %-9s %7.1f ms %s\n", x.needle.vault,
                100.0 * double(x.needle.position) / double(std::max<size_t>(1, r.tokens)), w, x.expected.c_str(), w,
                x.answer.c_str(), x.correct ? "yes" : "NO", x.retrieved ? "yes" : "no", x.warm_seconds * 1e3,
                Bytes(double(x.bytes)).c_str());
  }
  if (shown < r.answers.size()) std::printf("  ... %zu more (--all shows every question)\n", r.answers.size() - shown);
  const double n = double(std::max<size_t>(1, r.answers.size()));
  std::printf("\naccuracy: %zu/%zu exact pass keys (%.1f%%); the needle's chunk among the chunks chosen (top-%zu per HSA head): %zu/%zu\n"
              "(filler: train/data/heldout.txt.gz, Debian files that training never saw)\n",
              r.correct, r.answers.size(), 100.0 * double(r.correct) / n, c.top_k, r.retrieved, r.answers.size());
  if (multivalue) {
    std::printf("values: %zu/%zu of the expected pass keys in the answers, in any order (%.1f%%: RULER's "
                "string_match_all)\n",
                r.values_found, r.values, 100.0 * double(r.values_found) / double(std::max<size_t>(1, r.values)));
  }
  std::printf("answer latency (question + greedy bytes until the newline): median %.1f ms, p95 %.1f ms warm "
              "(first pass: median %.1f, p95 %.1f)\n",
              r.median_ms, r.p95_ms, r.cold_median_ms, r.cold_p95_ms);
  std::printf("read per answer: %s of the store's %s\n", Bytes(double(r.mean_bytes)).c_str(),
              Bytes(double(r.store_bytes)).c_str());
}

void RunDemo(const DemoArgs& a) {
  if (a.encoder == "model") return RunModel(a);
  LANDMARK_CHECK_ARG(a.encoder == "hashing", "--encoder: '" + a.encoder + "' is not model or hashing");
  demo::PasskeyDemoOptions o = a.options;
  o.needles = a.model.needles;
  if (o.cache_dir.empty()) o.cache_dir = demo::DefaultCacheDir();
  std::printf("landmark demo: pass-key retrieval over %s tokens on disk, %zu needles\n",
              Count(double(o.tokens)).c_str(), o.needles);
  o.rebuild = a.rebuild;
  std::fflush(stdout);
  Progress progress;
  bool building = false;
  const demo::PasskeyDemoReport r = demo::RunPasskeyDemo(
      o, [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); },
      [&](const IngestProgress& p) {
        if (!building) std::fprintf(stderr, "building the store (once; cached for later runs)...\n");
        building = true;
        const double seconds = std::max(progress.elapsed(), 1e-3);
        progress.Update(p.input_total ? double(p.input_bytes) / double(p.input_total) : -1.0,
                        fmt::format("{} tokens  {} tok/s", Count(double(p.tokens)), Count(double(p.tokens) / seconds)));
      });
  progress.Finish();
  const StoreInfo& info = r.info;
  std::printf("store: %s\n       %s, %s of K/V + %s of landmarks: %zu chunks of %zu tokens, kv head dim %zu, %s\n",
              r.store_path.c_str(), r.reused ? "reused" : fmt::format("built in {:.1f} s", r.build_seconds).c_str(),
              Bytes(double(info.kv_bytes)).c_str(), Bytes(double(info.landmark_bytes)).c_str(), info.chunks,
              info.shape.chunk_size, info.shape.head_dim, Name(info.shape.dtype));
  std::printf("asking %zu questions (\"pass key for vault N\") through the hashing encoder; top-%zu chunks, joint fusion\n\n",
              r.needles.size(), o.top_k);
  std::printf("  %-6s %-7s %-13s %-6s %-9s %-4s %-9s %s\n", "vault", "depth", "needle chunk", "rank", "pass key",
              "ok", "latency", "read");
  const size_t shown = a.all ? r.needles.size() : std::min<size_t>(12, r.needles.size());
  for (size_t i = 0; i < shown; ++i) {
    const demo::NeedleResult& n = r.needles[i];
    const std::string chunk = n.first_chunk == n.last_chunk ? std::to_string(n.first_chunk)
                                                            : fmt::format("{}-{}", n.first_chunk, n.last_chunk);
    std::printf("  %-6u %5.1f%%  %-13s %-6s %-9s %-4s %6.2f ms %s\n", n.vault, 100 * n.depth, chunk.c_str(),
                n.recalled() ? std::to_string(n.rank + 1).c_str() : "miss",
                n.answer ? std::to_string(n.answer).c_str() : "-", n.answer == n.key ? "yes" : "NO",
                n.seconds * 1e3, Bytes(double(n.bytes)).c_str());
  }
  if (shown < r.needles.size()) std::printf("  ... %zu more (--all shows every needle)\n", r.needles.size() - shown);
  const double total = double(info.kv_bytes + info.landmark_bytes);
  std::printf("\nrecall@%zu of the needle chunk: %zu/%zu (%.1f%%)\n", o.top_k, r.recalled, r.needles.size(),
              100.0 * double(r.recalled) / double(std::max<size_t>(1, r.needles.size())));
  std::printf("pass keys read from the top-weighted chunk: %zu/%zu\n", r.answered, r.needles.size());
  std::printf("latency per question: median %.2f ms, p95 %.2f ms (first pass, colder cache: median %.2f, p95 %.2f)\n",
              r.median_ms, r.p95_ms, r.cold_median_ms, r.cold_p95_ms);
  std::printf("read per question: %s of the store's %s (%.2f%%)\n", Bytes(double(r.mean_bytes)).c_str(),
              Bytes(total).c_str(), 100.0 * double(r.mean_bytes) / total);
  if (r.dense_ms > 0) {
    std::printf("dense exact attention over the same store: %.1f ms per question; the engine is %.0fx faster\n",
                r.dense_ms, r.dense_ms / std::max(r.median_ms, 1e-6));
  }
}

}  // namespace

void AddDemoCommand(CLI::App& app) {
  auto a = std::make_shared<DemoArgs>();
  CLI::App* demo = app.add_subcommand(
      "demo", "The main job: pass keys found in ~1M tokens on disk (store built once and cached)");
  demo->add_option("--encoder", a->encoder,
                   "model: landmark's byte model reads and answers; hashing: the training-free hashing encoder finds "
                   "the needle chunks")->capture_default_str();
  demo->add_option("--model", a->model.model, "model: weights (default or a .safetensors file)")->capture_default_str();
  demo->add_option("--tokens", a->options.tokens, "Haystack size in tokens")->capture_default_str();
  demo->add_option("--needles", a->model.needles, "Needles (one question each; multivalue: one per two)")->capture_default_str();
  demo->add_option("--task", a->task, "model: single, multikey (distractor vaults) or multivalue (two values a vault)")
      ->capture_default_str();
  demo->add_option("--head-dim", a->options.head_dim, "hashing: encoder dimension")->capture_default_str();
  demo->add_option("--top-k", a->options.top_k, "hashing: chunks selected per question")->capture_default_str();
  demo->add_option("--temperature", a->options.temperature, "hashing: query logit scale")->capture_default_str();
  demo->add_option("--seed", a->options.seed, "Haystack seed")->capture_default_str();
  demo->add_option("--cache-dir", a->options.cache_dir, "Where the store is kept (default: " + demo::DefaultCacheDir() + ")");
  demo->add_flag("--rebuild", a->rebuild, "Build the store again even if a valid one is cached");
  demo->add_flag("--all", a->all, "Show every needle");
  demo->callback([a] { RunDemo(*a); });
}

}  // namespace landmark::cli
