// CrossDecoder: the layer loop; hsa layers query the store through the
// Retriever, gmu layers gate with a kept memory and never touch the store.

#include "src/gmu/cross_decoder.h"

#include <cstdint>
#include <cstdio>
#include <numeric>
#include <utility>

#include "landmark/error.h"
#include "landmark/store.h"
#include "src/io/safetensors.h"
#include "src/nn/hsa_layer.h"
#include "src/nn/mlp.h"
#include "src/nn/nn.h"

namespace landmark {
namespace {

constexpr const char* kLayersKey = "landmark.cross_decoder.layers";

std::string LayerPrefix(size_t i) { return "layers." + std::to_string(i) + "."; }

HsaShape Hsa(const CrossDecoderConfig& c) { return {c.d_model, c.q_heads, c.head_dim, false, c.norm_eps}; }


// The first naming of cross-decoder weights (before the layers were the
// byte model's pieces): old name → new name, in memory. The norm before
// each mixer was `layers.{i}.norm` for both kinds.
std::string RenamedFromFirstNaming(const CrossDecoderConfig& c, const std::string& name) {
  static const std::pair<const char*, const char*> kRenames[] = {
      {"wq", "hsa_wq"},        {"wo", "hsa_wo"},        {"gmu.w_in", "gmu_win"}, {"gmu.w_out", "gmu_wout"},
      {"gmu.w_c", "gmu_wc"},   {"gmu.w_m", "gmu_wm"},   {"gmu.w_g", "gmu_wg"},   {"mlp.w_gate", "w1"},
      {"mlp.w_up", "w3"},      {"mlp.w_down", "w2"},    {"mlp_norm", "mlp_norm"}};
  size_t i = 0, end = 0;
  if (std::sscanf(name.c_str(), "layers.%zu.%zn", &i, &end) != 1 || end == 0 || i >= c.layers.size()) return name;
  const std::string rest = name.substr(size_t(end));
  if (rest == "norm") return LayerPrefix(i) + (c.layers[i].kind == LayerKind::kHsa ? "hsa_norm" : "gmu_norm");
  for (const auto& [from, to] : kRenames) {
    if (rest == from) return LayerPrefix(i) + to;
  }
  return name;
}

// A file of the first naming, renamed in memory (`bytes` holds the copy).
SafeTensors FromFirstNaming(const CrossDecoderConfig& c, const SafeTensors& old, std::string& bytes) {
  std::vector<TensorToWrite> tensors;
  for (const std::string& name : old.names()) {
    const TensorView& t = old.Get(name);
    tensors.push_back({RenamedFromFirstNaming(c, name), t.dtype, t.shape, t.data});
  }
  bytes = SafeTensorsBytes(tensors, old.metadata(), old.path());
  return SafeTensors::Parse(bytes.data(), bytes.size(), old.path());
}

struct Layer {
  LayerKind kind;
  size_t memory_from;
  HsaLayer hsa;         // hsa
  GatedMemoryUnit gmu;  // gmu
  Mlp mlp;              // mlp_hidden > 0
  bool has_mlp = false;

  uint64_t weight_bytes() const {
    return (kind == LayerKind::kHsa ? hsa.weight_bytes() : gmu.weight_bytes()) + (has_mlp ? mlp.weight_bytes() : 0);
  }
};

}  // namespace

// Every tensor of the weights file (cross_decoder.h), in file order: what
// the random writer writes and the loader reads.
std::vector<TensorSpec> CrossDecoderTensors(const CrossDecoderConfig& c) {
  std::vector<TensorSpec> specs;
  auto add = [&](std::vector<TensorSpec> more) {
    for (TensorSpec& s : more) specs.push_back(std::move(s));
  };
  for (size_t i = 0; i < c.layers.size(); ++i) {
    const std::string p = LayerPrefix(i);
    add(c.layers[i].kind == LayerKind::kHsa ? HsaLayer::Tensors(p, Hsa(c))
                                            : GatedMemoryUnit::Tensors(p, c.gmu, c.d_model, c.d_memory()));
    if (c.mlp_hidden > 0) add(Mlp::Tensors(p, MlpActivation::kSwiGlu, c.d_model, c.mlp_hidden));
  }
  add({{"final_norm", {c.d_model}, Init::kNorm}});
  return specs;
}

std::map<std::string, std::string> CrossDecoderMetadata(const CrossDecoderConfig& c, uint64_t seed) {
  std::string kinds;
  for (const auto& l : c.layers) kinds += std::string(kinds.empty() ? "" : ",") + Name(l.kind);
  return {{kLayersKey, kinds}, {"landmark.seed", std::to_string(seed)}};
}

uint64_t CrossDecoderStats::total() const {
  uint64_t sum = 0;
  for (const auto* v : {&weight_bytes, &store_bytes, &memory_bytes}) sum = std::accumulate(v->begin(), v->end(), sum);
  return sum;
}

struct CrossDecoder::Impl {
  const StoreReader& store;
  CrossDecoderConfig config;
  Retriever retriever;
  std::vector<Layer> layers;
  std::vector<float> final_norm;

  Impl(const StoreReader& s, const CrossDecoderConfig& c)
      : store(s), config(c), retriever(s, [&] {
          c.Validate();
          LANDMARK_CHECK_ARG(c.head_dim == s.shape().head_dim,
                             "cross-decoder: head_dim " + std::to_string(c.head_dim) + " does not match the store's " +
                                 std::to_string(s.shape().head_dim));
          RetrieverConfig r = c.retrieval;
          r.q_heads = c.q_heads;
          return r;
        }()) {}
};

CrossDecoder::CrossDecoder(const StoreReader& store, const CrossDecoderConfig& config, const std::string& weights_path)
    : impl_(std::make_unique<Impl>(store, config)) {
  const CrossDecoderConfig& c = impl_->config;
  SafeTensors file = SafeTensors::Open(weights_path);
  std::string renamed;  // a file of the first naming, renamed (read in place, then copied into the layers)
  const SafeTensors w = file.Has("layers.0.norm") ? FromFirstNaming(c, file, renamed) : std::move(file);
  const size_t D = c.d_model, dm = c.d_memory(), F = c.mlp_hidden;
  for (size_t i = 0; i < c.layers.size(); ++i) {
    const std::string p = LayerPrefix(i);
    Layer l;
    l.kind = c.layers[i].kind;
    l.memory_from = c.layers[i].memory_from;
    if (l.kind == LayerKind::kHsa) {
      l.hsa = HsaLayer::Load(w, p, Hsa(c));
    } else {
      l.gmu = GatedMemoryUnit::Load(w, p, c.gmu, D, dm, c.norm_eps);
    }
    if (F > 0) {
      l.mlp = Mlp::Load(w, p, MlpActivation::kSwiGlu, D, F, c.norm_eps);
      l.has_mlp = true;
    }
    impl_->layers.push_back(std::move(l));
  }
  impl_->final_norm = LoadVector(w, "final_norm", D);
}

CrossDecoder::~CrossDecoder() = default;
CrossDecoder::CrossDecoder(CrossDecoder&&) noexcept = default;

const CrossDecoderConfig& CrossDecoder::config() const { return impl_->config; }

void CrossDecoder::Forward(const float* hidden, size_t M, const std::vector<size_t>& positions, float* next,
                           CrossDecoderStats* stats) const {
  const Impl& im = *impl_;
  const CrossDecoderConfig& c = im.config;
  const size_t D = c.d_model, dm = c.d_memory(), L = c.layers.size();
  LANDMARK_CHECK_ARG(positions.empty() || positions.size() == M,
                     "CrossDecoder::Forward: positions must be empty or one per row");
  if (stats) *stats = {std::vector<uint64_t>(L), std::vector<uint64_t>(L), std::vector<uint64_t>(L)};
  std::vector<float> x(hidden, hidden + M * D);
  std::vector<std::vector<float>> memory(L);  // hsa outputs a [M][d_m], kept for the gmu layers
  MlpScratch mlp;                             // reused by every layer
  for (size_t i = 0; i < L; ++i) {
    const Layer& l = im.layers[i];
    if (l.kind == LayerKind::kHsa) {
      memory[i].resize(M * dm);
      const std::vector<RetrievalResult> results =
          l.hsa.Forward(im.retriever, x.data(), M, positions.empty() ? nullptr : positions.data(),
                        /*past_store=*/false, memory[i].data(), x.data(), /*accumulate=*/true);
      for (size_t m = 0; m < M && stats; ++m) stats->store_bytes[i] += results[m].bytes_touched;
    } else {
      l.gmu.Forward(x.data(), memory[l.memory_from].data(), M, x.data(), /*accumulate=*/true);
      if (stats) stats->memory_bytes[i] = uint64_t(M) * dm * sizeof(float);
    }
    if (l.has_mlp) l.mlp.Forward(x.data(), M, x.data(), /*accumulate=*/true, mlp);
    if (stats) stats->weight_bytes[i] = l.weight_bytes();
  }
  RmsNorm(x.data(), im.final_norm.data(), M, D, D, c.norm_eps, next);
}

std::vector<float> CrossDecoder::Step(const std::vector<float>& hidden, size_t position,
                                      CrossDecoderStats* stats) const {
  LANDMARK_CHECK_ARG(hidden.size() == impl_->config.d_model,
                     "CrossDecoder::Step: hidden has " + std::to_string(hidden.size()) + " values, d_model is " +
                         std::to_string(impl_->config.d_model));
  std::vector<float> next(hidden.size());
  Forward(hidden.data(), 1, {position}, next.data(), stats);
  return next;
}

}  // namespace landmark
