// The byte model's blocks over a segment of M positions (docs/model.md
// "Math"): activations row-major f32 [M][D], matmuls through nn.h's Linear
// (oneDNN for many rows), the sliding window through CausalPrefill, and
// the layer pieces it shares with the cross-decoder and the LLMs: HsaLayer,
// GatedMemoryUnit, Mlp. Called outside TBB parallel regions (oneDNN runs on
// OpenMP).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "landmark/model.h"
#include "landmark/retriever.h"
#include "src/gmu/gmu.h"
#include "src/nn/hsa_layer.h"
#include "src/nn/mlp.h"
#include "src/nn/nn.h"
#include "src/nn/rows.h"

namespace landmark {

// Sliding-window attention + MLP weights (every block has them).
struct SwaMlpWeights {
  std::vector<float> attn_norm;  // [D]
  Linear wqkv;                   // [3D][D]: wq, wk, wv stacked
  Linear wo;
  Mlp mlp;  // GELU
};

struct UpperWeights {
  LayerKind kind = LayerKind::kHsa;
  SwaMlpWeights swa;
  HsaLayer hsa;         // hsa: learned retrieval query, H_q = heads
  GatedMemoryUnit gmu;  // gmu: sambay, d_m = D
};

struct Model::Impl {
  ModelConfig config;
  std::string path, digest;
  std::vector<float> embed;  // [vocab][D]
  std::vector<SwaMlpWeights> lower;
  std::vector<UpperWeights> upper;
  std::vector<float> memory_norm, landmark_norm;
  Linear memory_wk, memory_wv, memory_wl;
  std::vector<float> final_norm;
  Linear lm_head;
};

// The tensors behind a Model handle (the public class keeps them private).
struct ModelAccess {
  static const Model::Impl& Of(const Model& model) { return *model.impl_; }
};

namespace model {

// The keys (before RoPE) and values of one block's last W−1 positions,
// [tokens][D] each: what its sliding window still needs.
struct SwaCache {
  std::vector<float> k, v;
  size_t tokens = 0;
};

// Scratch reused across segments (grows to the largest M).
struct Workspace {
  std::vector<float> a, qkv, k_span, v_span, k_rot, q_rot, o, rope_cos, rope_sin;
  std::vector<float> retrieved, mem;
  MlpScratch mlp;
  size_t rope_positions = 0;
};

// x [M][D] = embed[bytes].
// The weights file's layout (docs/model.md): every tensor in file order
// (what Load reads) and its metadata (testing/random_weights.h writes random ones).
std::vector<TensorSpec> ModelTensors(const ModelConfig& config);
std::map<std::string, std::string> ModelMetadata(const ModelConfig& config);

void Embed(const Model::Impl& m, const unsigned char* bytes, size_t M, float* x);

// x += SWA(RMSNorm_attn(x)) for M positions continuing `cache`, which then
// holds the last W−1 positions.
void SwaForward(const Model::Impl& m, const SwaMlpWeights& w, SwaCache& cache, float* x, size_t M,
                Workspace& ws);
// x += MLP(RMSNorm_mlp(x)).
void MlpForward(const Model::Impl& m, const SwaMlpWeights& w, float* x, size_t M, Workspace& ws);

// Every lower block; caches [lower].
void LowerForward(const Model::Impl& m, std::vector<SwaCache>& caches, float* x, size_t M, Workspace& ws);

// Chunk memory of M lower outputs h: mem_norm rows m [M][D], K and V [M][D].
void MemoryForward(const Model::Impl& m, const float* h, size_t M, float* mrows, float* k, float* v);
// Landmarks of `chunks` chunks from their mean rows [chunks][D] → [chunks][D].
void LandmarkForward(const Model::Impl& m, const float* means, size_t chunks, float* landmarks);

struct UpperStats {
  size_t landmark_chunk_bytes = 0;  // the store's landmark bytes per chunk (set by the caller)
  // Landmarks scanned once per HSA block and forward pass (a batch of
  // positions scores them in one pass) + the K/V each position attended.
  uint64_t bytes_touched = 0;
  // Chunks chosen at the last position by every HSA block and selection
  // head, appended while record_chunks is set (sorted by the caller).
  bool record_chunks = true;
  std::vector<uint32_t> last_chunks;
};

// Every upper block over M positions at absolute positions first.. (HSA
// through `retriever` over the store; positions may lie past the store).
// `mem` sized M×D holds the latest HSA output for the GMU blocks.
void UpperForward(const Model::Impl& m, const Retriever& retriever, std::vector<SwaCache>& caches, float* x,
                  size_t M, size_t first, Workspace& ws, UpperStats* stats = nullptr);
// One upper block (the ingest's staircase runs them one at a time).
void UpperBlockForward(const Model::Impl& m, size_t j, const Retriever& retriever, SwaCache& cache, float* x,
                       size_t M, size_t first, float* mem, Workspace& ws, UpperStats* stats);

// logits [M][vocab] = lm_head · RMSNorm_final(x).
void HeadForward(const Model::Impl& m, const float* x, size_t M, float* logits, Workspace& ws);

RetrieverConfig HsaRetrieverConfig(const ModelConfig& c);

}  // namespace model
}  // namespace landmark
