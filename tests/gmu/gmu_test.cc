// GatedMemoryUnit against a double reference; cross-decoder configs and
// weights: every kind of bad input names the key or tensor.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <vector>

#include "landmark/error.h"
#include "landmark/store.h"
#include "src/gmu/cross_decoder.h"
#include "src/gmu/gmu.h"
#include "src/io/safetensors.h"
#include "tests/temp_dir.h"
#include "tests/test_util.h"
#include "testing/random_weights.h"

namespace landmark {
namespace {

using test::RandomNormal;

std::vector<double> MatVec(const std::vector<float>& w, const std::vector<double>& x, size_t out) {
  const size_t in = x.size();
  std::vector<double> y(out);
  for (size_t o = 0; o < out; ++o) {
    for (size_t k = 0; k < in; ++k) y[o] += double(w[o * in + k]) * x[k];
  }
  return y;
}
double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

TEST_CASE("GMU sambay and gated-mix (with the pre-norm) match the double reference, batched and accumulating") {
  test::TempDir dir("gmu");
  const size_t d = 24, dm = 40;
  const float eps = 1e-5f;
  const auto w_in = RandomNormal(dm * d, 1), w_out = RandomNormal(d * dm, 2), w_m = RandomNormal(dm * dm, 3),
             w_g = RandomNormal(dm * 2 * dm, 4), norm = RandomNormal(d, 6, 0.3f);
  const std::string path = dir / "g.safetensors";
  WriteSafeTensors(path, {{"s.gmu_norm", DType::kF32, {d}, norm.data()},
                          {"s.gmu_win", DType::kF32, {dm, d}, w_in.data()},
                          {"s.gmu_wout", DType::kF32, {d, dm}, w_out.data()},
                          {"m.gmu_norm", DType::kF32, {d}, norm.data()},
                          {"m.gmu_wc", DType::kF32, {dm, d}, w_in.data()},
                          {"m.gmu_wm", DType::kF32, {dm, dm}, w_m.data()},
                          {"m.gmu_wg", DType::kF32, {dm, 2 * dm}, w_g.data()},
                          {"m.gmu_wout", DType::kF32, {d, dm}, w_out.data()}});
  const SafeTensors weights = SafeTensors::Open(path);
  for (GmuVariant variant : {GmuVariant::kSambaY, GmuVariant::kGatedMix}) {
    CAPTURE(Name(variant));
    const std::string prefix = variant == GmuVariant::kSambaY ? "s." : "m.";
    const GatedMemoryUnit gmu = GatedMemoryUnit::Load(weights, prefix, variant, d, dm, eps);
    CHECK(gmu.weight_bytes() == 4 * (d + 2 * d * dm + (variant == GmuVariant::kSambaY ? 0 : 3 * dm * dm)));
    CHECK(GatedMemoryUnit::Tensors(prefix, variant, d, dm).size() == (variant == GmuVariant::kSambaY ? 3u : 5u));
    for (size_t M : {1, 7, 12}) {
      CAPTURE(M);
      const auto x = RandomNormal(M * d, 10 + M), m = RandomNormal(M * dm, 20 + M);
      std::vector<float> y = x;  // y = x: the residual update in place
      gmu.Forward(y.data(), m.data(), M, y.data(), /*accumulate=*/true);
      for (size_t r = 0; r < M; ++r) {
        std::vector<double> u(d), mr(m.begin() + r * dm, m.begin() + (r + 1) * dm);
        double ss = 0;
        for (size_t i = 0; i < d; ++i) ss += double(x[r * d + i]) * x[r * d + i];
        for (size_t i = 0; i < d; ++i) u[i] = x[r * d + i] / std::sqrt(ss / double(d) + eps) * norm[i];
        std::vector<double> h(dm);
        const auto a = MatVec(w_in, u, dm);
        if (variant == GmuVariant::kSambaY) {
          for (size_t i = 0; i < dm; ++i) h[i] = mr[i] * a[i] * Sigmoid(a[i]);
        } else {
          const auto b = MatVec(w_m, mr, dm);
          std::vector<double> both(a);
          both.insert(both.end(), b.begin(), b.end());
          const auto g = MatVec(w_g, both, dm);
          for (size_t i = 0; i < dm; ++i) {
            const double z = Sigmoid(g[i]) * a[i] + (1 - Sigmoid(g[i])) * b[i];
            h[i] = z * Sigmoid(z);
          }
        }
        const auto out = MatVec(w_out, h, d);
        for (size_t i = 0; i < d; ++i) {
          const double expected = x[r * d + i] + out[i];
          REQUIRE(std::fabs(y[r * d + i] - expected) <= 2e-4 * std::max(1.0, std::fabs(expected)));
        }
      }
    }
  }
  CHECK_THROWS_WITH_AS(GatedMemoryUnit::Load(weights, "s.", GmuVariant::kSambaY, d, dm + 1, eps),
                       doctest::Contains("s.gmu_win has shape (40, 24), expected (41, 24)"), Error);
  CHECK_THROWS_WITH_AS(GatedMemoryUnit::Load(weights, "x.", GmuVariant::kGatedMix, d, dm, eps),
                       doctest::Contains("no tensor named 'x.gmu_norm'"), Error);
  CHECK_THROWS_WITH_AS(ParseGmuVariant("mamba"), doctest::Contains("unknown GMU variant 'mamba'"), Error);
}

const char* kConfig = R"(
[cross_decoder]
d_model = 16
q_heads = 2
head_dim = 8
layers = 4
pattern = "alternate"
[retrieval]
top_k = 2
)";

void ExpectBadConfig(const std::string& text, const std::string& what) {
  CAPTURE(text);
  CHECK_THROWS_WITH_AS(ParseCrossDecoderConfig(text, "c.toml"), doctest::Contains(what.c_str()), Error);
}

TEST_CASE("cross-decoder configs: patterns, memory sources and errors naming the key") {
  const CrossDecoderConfig c = ParseCrossDecoderConfig(kConfig, "c.toml");
  REQUIRE(c.layers.size() == 4);
  CHECK(c.layers[1].kind == LayerKind::kGmu);
  CHECK(c.layers[3].memory_from == 2);
  CHECK(c.hsa_layers() == 2);
  CHECK(c.d_memory() == 16);
  CHECK(c.retrieval.q_heads == 2);
  const std::string base = "[cross_decoder]\nd_model = 16\nq_heads = 2\nhead_dim = 8\n";
  const CrossDecoderConfig half = ParseCrossDecoderConfig(base + "layers = 5\npattern = \"gmu-second-half\"\nmemory_from = \"first-hsa\"\n", "h.toml");
  CHECK(half.layers[2].kind == LayerKind::kHsa);
  CHECK(half.layers[3].kind == LayerKind::kGmu);
  CHECK(half.layers[4].memory_from == 0);
  ExpectBadConfig(base + "layers = 2\nlayres = 3\n", "c.toml: [cross_decoder].layres: unknown key");
  ExpectBadConfig(base + "layers = [\"hsa\", \"attn\"]\n", "[cross_decoder].layers: entry 1 is not \"hsa\" or \"gmu\"");
  ExpectBadConfig(base + "layers = [\"gmu\", \"hsa\"]\n", "layer 0 (gmu) has no earlier hsa layer");
  ExpectBadConfig(base + "layers = [\"hsa\", \"gmu\", \"hsa\"]\nmemory_from = [-1, 2, -1]\n",
                  "layer 1 (gmu) takes its memory from layer 2, which does not come before it");
  ExpectBadConfig(base + "layers = [\"hsa\", \"hsa\", \"gmu\"]\nmemory_from = [-1, -1, 2]\n", "does not come before it");
  ExpectBadConfig(base + "layers = 2\npattern = \"zigzag\"\n", "[cross_decoder].pattern: unknown pattern 'zigzag'");
  ExpectBadConfig(base + "layers = 2\ngmu = \"mamba\"\n", "[cross_decoder].gmu: unknown GMU variant");
  ExpectBadConfig(base + "layers = \"four\"\n", "[cross_decoder].layers: expected a count");
  ExpectBadConfig(base, "[cross_decoder].layers: missing");
  ExpectBadConfig("[cross_decoder]\nd_model = \"big\"\n", "[cross_decoder].d_model: expected an integer");
  ExpectBadConfig(base + "layers = 2\n[retrieval]\ntopk = 3\n", "[retrieval].topk: unknown key");
  ExpectBadConfig(base + "layers = 2\n[retrieval]\nfusion = \"sum\"\n", "[retrieval].fusion");
  ExpectBadConfig(base + "layers = 2\n[decoder]\n", "unknown section or key 'decoder'");
  ExpectBadConfig("[cross_decoder\n", "c.toml:1");
  ExpectBadConfig("[retrieval]\ntop_k = 1\n", "no [cross_decoder] section");
  CHECK_THROWS_WITH_AS(LoadCrossDecoderConfig("/nonexistent.toml"), doctest::Contains("/nonexistent.toml"), Error);
}

TEST_CASE("CrossDecoder: missing or mis-shaped tensors and a store of another head dim") {
  test::TempDir dir("cross-decoder");
  StoreOptions options;
  options.shape = {4, 1, 8, DType::kF32, LandmarkKind::kMean, 0, 0};
  StoreWriter writer = StoreWriter::Create(dir / "store", options);
  const auto k = RandomNormal(10 * 8, 1), v = RandomNormal(10 * 8, 2);
  TokenBatch batch;
  batch.tokens = 10;
  batch.keys = k.data();
  batch.values = v.data();
  writer.Append(batch);
  writer.Close();
  const StoreReader store = StoreReader::Open(dir / "store");
  const CrossDecoderConfig c = ParseCrossDecoderConfig(kConfig, "c.toml");
  const std::string weights = dir / "w.safetensors";
  WriteRandomCrossDecoderWeights(c, weights, DType::kBF16, 3);
  const CrossDecoder decoder(store, c, weights);
  const auto h = RandomNormal(16, 4);
  CrossDecoderStats stats;
  const std::vector<float> next = decoder.Step(h, kLastPosition, &stats);
  CHECK(next.size() == 16);
  CHECK(stats.store_bytes[0] > 0);
  CHECK(stats.store_bytes[1] == 0);
  CHECK(stats.memory_bytes[1] == 16 * sizeof(float));
  CHECK_THROWS_WITH_AS(decoder.Step(std::vector<float>(15)), doctest::Contains("d_model is 16"), Error);

  CrossDecoderConfig wide = c;
  wide.d_model = 32;
  CHECK_THROWS_WITH_AS(CrossDecoder(store, wide, weights), doctest::Contains("layers.0.hsa_norm has shape (16,), expected (32,)"),
                       Error);
  CrossDecoderConfig all_hsa = c;
  for (auto& l : all_hsa.layers) l.kind = LayerKind::kHsa;
  CHECK_THROWS_WITH_AS(CrossDecoder(store, all_hsa, weights), doctest::Contains("no tensor named 'layers.1.hsa_norm'"), Error);
  // A file of the first naming (layers.{i}.norm, .wq, .gmu.w_in, ...) loads
  // and computes the same.
  {
    const SafeTensors now = SafeTensors::Open(weights);
    const std::map<std::string, std::string> first = {
        {"hsa_norm", "norm"}, {"gmu_norm", "norm"}, {"hsa_wq", "wq"}, {"hsa_wo", "wo"},
        {"gmu_win", "gmu.w_in"}, {"gmu_wout", "gmu.w_out"}};
    std::vector<TensorToWrite> tensors;
    for (const std::string& name : now.names()) {
      const TensorView& t = now.Get(name);
      std::string old_name = name;
      const size_t dot = name.rfind('.');
      if (name.rfind("layers.", 0) == 0 && first.count(name.substr(dot + 1))) {
        old_name = name.substr(0, dot + 1) + first.at(name.substr(dot + 1));
      }
      tensors.push_back({old_name, t.dtype, t.shape, t.data});
    }
    const std::string old = dir / "old.safetensors";
    WriteSafeTensors(old, tensors, now.metadata());
    REQUIRE(SafeTensors::Open(old).Has("layers.1.gmu.w_in"));
    CHECK(CrossDecoder(store, c, old).Step(h) == next);
    const std::vector<float> ones(16, 1.0f);
    WriteSafeTensors(old, {{"layers.0.norm", DType::kF32, {16}, ones.data()}});
    CHECK_THROWS_WITH_AS(CrossDecoder(store, c, old), doctest::Contains("old.safetensors: no tensor named 'layers.0.hsa_wq'"),
                         Error);
  }
  CrossDecoderConfig other_dim = c;
  other_dim.head_dim = 16;
  CHECK_THROWS_WITH_AS(CrossDecoder(store, other_dim, weights), doctest::Contains("head_dim 16 does not match the store's 8"),
                       Error);
}

}  // namespace
}  // namespace landmark
