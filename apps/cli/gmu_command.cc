// `landmark gmu init-weights` and `landmark gmu run`: the cross-decoder
// (hsa + GMU layers) over a store, from the command line.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "src/gmu/cross_decoder.h"
#include "landmark/error.h"
#include "src/io/npy.h"
#include "landmark/store.h"
#include "apps/cli/commands.h"
#include "apps/cli/format.h"
#include "testing/random_weights.h"

namespace landmark::cli {
namespace {

struct GmuArgs {
  std::string config, out, dtype = "bf16", store, weights, input;
  uint64_t seed = 1;
  size_t steps = 1, batch = 1, threads = 0;
  std::vector<size_t> positions;
};

void RunInitWeights(const GmuArgs& a) {
  const CrossDecoderConfig c = LoadCrossDecoderConfig(a.config);
  WriteRandomCrossDecoderWeights(c, a.out, ParseDType(a.dtype, "--dtype"), a.seed);
  fmt::print("wrote {}: {} layers ({} hsa, {} gmu), d_model {}, d_memory {}, {}\n", a.out, c.layers.size(),
             c.hsa_layers(), c.layers.size() - c.hsa_layers(), c.d_model, c.d_memory(), a.dtype);
}

void RunDecoder(const GmuArgs& a) {
  const StoreReader store = StoreReader::Open(a.store);
  const CrossDecoderConfig c = LoadCrossDecoderConfig(a.config);
  const CrossDecoder decoder(store, c, a.weights);
  const size_t D = c.d_model;
  std::vector<float> x;
  size_t M = a.batch;
  if (!a.input.empty()) {
    const NpyArray in = NpyArray::Open(a.input);
    in.CheckRank(2, "--input [M, d_model]");
    LANDMARK_CHECK_ARG(in.dtype() == DType::kF32 && in.shape()[1] == D,
                       a.input + ": --input must be f32 of shape (M, " + std::to_string(D) + "), is " +
                           in.ShapeString());
    M = in.shape()[0];
    x.assign(static_cast<const float*>(in.data()), static_cast<const float*>(in.data()) + in.elements());
  } else {
    std::mt19937_64 rng(a.seed);
    std::normal_distribution<float> normal;
    x.resize(M * D);
    for (float& v : x) v = normal(rng);
  }
  LANDMARK_CHECK_ARG(M > 0, "gmu run: no input rows");
  std::vector<size_t> positions = a.positions;
  if (positions.size() == 1) positions.assign(M, positions[0]);
  LANDMARK_CHECK_ARG(positions.empty() || positions.size() == M,
                     "gmu run: --pos takes one position, or one per row (" + std::to_string(M) + ")");
  std::vector<float> next(M * D);
  CrossDecoderStats stats;
  std::vector<double> ms;
  for (size_t step = 0; step < a.steps; ++step) {
    const auto t0 = std::chrono::steady_clock::now();
    decoder.Forward(x.data(), M, positions, next.data(), &stats);
    ms.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e3);
    if (step + 1 < a.steps) x = next;  // feed the output back: a decode loop over the fixed store
  }
  fmt::print("{}: {} tokens, {} layers ({} hsa, {} gmu, {}), d_model {}, batch {}\n", a.store,
             store.info().tokens, c.layers.size(), c.hsa_layers(), c.layers.size() - c.hsa_layers(), Name(c.gmu),
             D, M);
  fmt::print("{:>5} {:>4} {:>12} {:>12} {:>12}\n", "layer", "kind", "weights", "store", "memory");
  for (size_t i = 0; i < c.layers.size(); ++i) {
    fmt::print("{:>5} {:>4} {:>12} {:>12} {:>12}\n", i, Name(c.layers[i].kind), Bytes(double(stats.weight_bytes[i])),
               Bytes(double(stats.store_bytes[i])), Bytes(double(stats.memory_bytes[i])));
  }
  std::sort(ms.begin(), ms.end());
  fmt::print("step: {:.3f} ms median of {} (read {} per step)\n", ms[ms.size() / 2], ms.size(),
             Bytes(double(stats.total())));
  if (!a.out.empty()) {
    WriteNpy(a.out, next.data(), DType::kF32, {M, D});
    fmt::print("wrote {} [{}, {}]\n", a.out, M, D);
  }
}

}  // namespace

void AddGmuCommands(CLI::App& app) {
  CLI::App* gmu = app.add_subcommand("gmu", "Gated Memory Units: the hsa + GMU cross-decoder over a store");
  gmu->require_subcommand(1);
  auto args = std::make_shared<GmuArgs>();

  CLI::App* init = gmu->add_subcommand("init-weights", "Write random-initialised weights for a cross-decoder config");
  init->add_option("--config", args->config, "A preset with a [cross_decoder] section (e.g. configs/cross-decoder-16x2048.toml); "
                  "its other keys fill the options not given, as in every command")
      ->required();
  init->add_option("--out", args->out, "Weights file (.safetensors)")->required();
  init->add_option("--dtype", args->dtype, "Weight dtype: bf16 or f32")->capture_default_str();
  init->add_option("--seed", args->seed, "Random seed")->capture_default_str();
  init->callback([args] { RunInitWeights(*args); });

  CLI::App* run = gmu->add_subcommand("run", "Decode steps of the cross-decoder over a store");
  run->add_option("store", args->store, "Store directory")->required();
  run->add_option("--config", args->config, "A preset with a [cross_decoder] section (as for init-weights)")->required();
  run->add_option("--weights", args->weights, "Weights (.safetensors; see `gmu init-weights`)")->required();
  run->add_option("--input", args->input, "Hidden states [M, d_model] (f32 .npy); default: seeded normal");
  run->add_option("--batch", args->batch, "Rows M without --input")->check(CLI::PositiveNumber);
  run->add_option("--seed", args->seed, "Seed of the default input");
  run->add_option("--pos", args->positions, "Query position(s) in the store (default: its end)");
  run->add_option("--steps", args->steps, "Decode steps (output fed back as input)")->check(CLI::PositiveNumber);
  run->add_option("--out", args->out, "Write the last step's output [M, d_model] (.npy)");
  run->add_option("--threads", args->threads, "Worker threads (0: all CPUs)");
  run->callback([args] { RunWithThreads(args->threads, [&] { RunDecoder(*args); }); });
}

}  // namespace landmark::cli
