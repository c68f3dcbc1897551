// CrossDecoder: the layer loop; hsa layers query the store through the
// Retriever, gmu layers gate with a kept memory and never touch the store.

#include "src/gmu/cross_decoder.h"

#include <cstdint>
#include <numeric>

#include "landmark/error.h"
#include "src/nn/nn.h"
#include "src/io/safetensors.h"
#include "landmark/store.h"

namespace landmark {
namespace {

std::string LayerPrefix(size_t i) { return "layers." + std::to_string(i) + "."; }

struct Layer {
  LayerKind kind;
  size_t memory_from;
  std::vector<float> norm;
  Linear wq, wo;          // hsa
  GatedMemoryUnit gmu;    // gmu
  std::vector<float> mlp_norm;
  Linear w_gate, w_up, w_down;  // mlp_hidden > 0

  uint64_t weight_bytes() const {
    const uint64_t norms = (norm.size() + mlp_norm.size()) * sizeof(float);
    const uint64_t mixer = kind == LayerKind::kHsa ? wq.weight_bytes() + wo.weight_bytes() : gmu.weight_bytes();
    const uint64_t mlp = mlp_norm.empty() ? 0 : w_gate.weight_bytes() + w_up.weight_bytes() + w_down.weight_bytes();
    return norms + mixer + mlp;
  }
};

}  // namespace

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
  const SafeTensors w = SafeTensors::Open(weights_path);
  const CrossDecoderConfig& c = impl_->config;
  const size_t D = c.d_model, dm = c.d_memory(), F = c.mlp_hidden;
  for (size_t i = 0; i < c.layers.size(); ++i) {
    const std::string p = LayerPrefix(i);
    Layer l;
    l.kind = c.layers[i].kind;
    l.memory_from = c.layers[i].memory_from;
    l.norm = LoadVector(w, p + "norm", D);
    if (l.kind == LayerKind::kHsa) {
      l.wq = LoadLinear(w, p + "wq", dm, D);
      l.wo = LoadLinear(w, p + "wo", D, dm);
    } else {
      l.gmu = GatedMemoryUnit::Load(w, p + "gmu.", c.gmu, D, dm);
    }
    if (F > 0) {
      l.mlp_norm = LoadVector(w, p + "mlp_norm", D);
      l.w_gate = LoadLinear(w, p + "mlp.w_gate", F, D);
      l.w_up = LoadLinear(w, p + "mlp.w_up", F, D);
      l.w_down = LoadLinear(w, p + "mlp.w_down", D, F);
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
  std::vector<float> x(hidden, hidden + M * D), n(M * D), q(M * dm);
  std::vector<float> gate(M * c.mlp_hidden), up(M * c.mlp_hidden);  // SwiGLU scratch, reused by every layer
  std::vector<std::vector<float>> memory(L);  // hsa outputs a [M][d_m], kept for the gmu layers
  std::vector<RetrievalQuery> queries(M);
  for (size_t i = 0; i < L; ++i) {
    const Layer& l = im.layers[i];
    RmsNorm(x.data(), l.norm.data(), M, D, D, c.norm_eps, n.data());
    if (l.kind == LayerKind::kHsa) {
      l.wq.Forward(n.data(), M, q.data());
      for (size_t m = 0; m < M; ++m) {
        queries[m].q = &q[m * dm];
        queries[m].position = positions.empty() ? kLastPosition : positions[m];
      }
      const std::vector<RetrievalResult> results = im.retriever.QueryBatch(queries);
      std::vector<float>& a = memory[i];
      a.resize(M * dm);
      for (size_t m = 0; m < M; ++m) {
        std::copy(results[m].out.begin(), results[m].out.end(), &a[m * dm]);
        if (stats) stats->store_bytes[i] += results[m].bytes_touched;
      }
      l.wo.Forward(a.data(), M, x.data(), /*accumulate=*/true);
    } else {
      l.gmu.Forward(n.data(), memory[l.memory_from].data(), M, x.data(), /*accumulate=*/true);
      if (stats) stats->memory_bytes[i] = uint64_t(M) * dm * sizeof(float);
    }
    if (!l.mlp_norm.empty()) {
      const size_t F = c.mlp_hidden;
      RmsNorm(x.data(), l.mlp_norm.data(), M, D, D, c.norm_eps, n.data());
      l.w_gate.Forward(n.data(), M, gate.data());
      l.w_up.Forward(n.data(), M, up.data());
      SiluGate(up.data(), gate.data(), M * F, gate.data());
      l.w_down.Forward(gate.data(), M, x.data(), /*accumulate=*/true);
    }
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
