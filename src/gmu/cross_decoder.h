// A cross-decoder over a chunk store (SambaY's decoder-hybrid-decoder, with
// HSA as the cross-attention): L layers, each `hsa` (attention over the store
// through the Retriever) or `gmu` (gates the hidden state with the memory an
// earlier hsa layer produced; no store read). Per layer, pre-RMSNorm and a
// residual; optionally a SwiGLU MLP after each mixer:
//   hsa:  n = RMSNorm(x);  a = Retrieve(W_q n) [H_q·d];  x += W_o a;  m_i = a
//   gmu:  n = RMSNorm(x);  x += GMU(n, m_src)             (m_src: d_m = H_q·d)
//   mlp:  n = RMSNorm(x);  x += W_2 (SiLU(W_1 n) ⊙ W_3 n)  (SwiGLU)
//   out:  RMSNorm_final(x)
// The retrieval query is the mean of each kv head's group of queries (mean
// or minmax landmarks); the fusion, top-k and window are the Retriever's.
// The layers are the byte model's pieces (src/nn: HsaLayer, GatedMemoryUnit,
// Mlp), named as the byte model names them (docs/model.md).
//
// Weights (.safetensors, f32 or bf16, [out][in]):
//   hsa: layers.{i}.hsa_norm [D], .hsa_wq [H_q·d, D], .hsa_wo [D, H_q·d];
//   gmu: layers.{i}.gmu_norm [D], .gmu_win [d_m, D], .gmu_wout [D, d_m]
//        (gated-mix: .gmu_wc, .gmu_wm, .gmu_wg, .gmu_wout; gmu.h), d_m = H_q·d;
//   mlp (mlp_hidden > 0): layers.{i}.mlp_norm [D], .w1 (gate) and .w3 (up)
//        [F, D], .w2 (down) [D, F];  final_norm [D].
// Files of the first naming (layers.{i}.norm, .wq, .wo, .gmu.w_in, .gmu.w_out,
// .mlp.w_gate, .mlp.w_up, .mlp.w_down) still load: their names are mapped
// to these in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "landmark/layer_kind.h"
#include "landmark/retriever.h"
#include "src/gmu/gmu.h"

namespace landmark {

struct CrossDecoderLayer {
  LayerKind kind = LayerKind::kHsa;
  size_t memory_from = 0;  // gmu: index of the (earlier, hsa) layer whose output it gates
};

struct CrossDecoderConfig {
  size_t d_model = 0;          // D
  size_t q_heads = 0;          // H_q of the hsa layers (a multiple of the store's kv heads)
  size_t head_dim = 0;         // d; must match the store
  size_t mlp_hidden = 0;       // F; 0: no MLP
  float norm_eps = 1e-6f;
  GmuVariant gmu = GmuVariant::kSambaY;
  RetrieverConfig retrieval;   // q_heads is set from above
  std::vector<CrossDecoderLayer> layers;

  size_t d_memory() const { return q_heads * head_dim; }
  size_t hsa_layers() const;
  // Throws landmark::Error naming the problem (e.g. a gmu layer whose memory
  // source comes after it or is not an hsa layer).
  void Validate() const;
};

// Reads a TOML config (configs/cross-decoder-*.toml):
//   [cross_decoder]  d_model, q_heads, head_dim, mlp_hidden, norm_eps,
//                    gmu = "sambay" | "gated-mix",
//                    layers = 16 with pattern = "alternate" | "all-hsa" | "gmu-second-half",
//                    or layers = ["hsa", "gmu", ...] (explicit kinds),
//                    memory_from = "previous-hsa" (default) | "first-hsa" | [index per layer]
//   [retrieval]      top_k, fusion, weights, window, sink_chunks, softmax_off_by_one
// Unknown keys and wrong types are errors naming the file and the key.
CrossDecoderConfig LoadCrossDecoderConfig(const std::string& path);
CrossDecoderConfig ParseCrossDecoderConfig(const std::string& toml, const std::string& source);

// The weights file's layout: every tensor in file order (what the loader
// reads) and its metadata (testing/random_weights.h writes random ones).
std::vector<TensorSpec> CrossDecoderTensors(const CrossDecoderConfig& config);
std::map<std::string, std::string> CrossDecoderMetadata(const CrossDecoderConfig& config, uint64_t seed);

// Bytes one decode step read, per layer.
struct CrossDecoderStats {
  std::vector<uint64_t> weight_bytes;  // per layer: its weights (norms and MLP included)
  std::vector<uint64_t> store_bytes;   // per layer: landmarks scored + K/V attended (hsa), 0 (gmu)
  std::vector<uint64_t> memory_bytes;  // per layer: the memory m a gmu layer read (d_m floats)
  uint64_t total() const;
};

class CrossDecoder {
 public:
  // Loads and shape-checks the weights; keeps a reference to `store`.
  CrossDecoder(const StoreReader& store, const CrossDecoderConfig& config, const std::string& weights_path);
  ~CrossDecoder();
  CrossDecoder(CrossDecoder&&) noexcept;

  const CrossDecoderConfig& config() const;

  // hidden [M][D] → next [M][D] for M independent positions (decode streams),
  // each querying the store at positions[i] (kLastPosition: the store's end;
  // empty: all at the end). next may equal hidden. stats: bytes read, summed
  // over the M positions.
  void Forward(const float* hidden, size_t M, const std::vector<size_t>& positions, float* next,
               CrossDecoderStats* stats = nullptr) const;

  // One decode step for one position.
  std::vector<float> Step(const std::vector<float>& hidden, size_t position = kLastPosition,
                          CrossDecoderStats* stats = nullptr) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace landmark
