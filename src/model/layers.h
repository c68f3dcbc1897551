// The byte model's blocks over a segment of M positions (docs/model.md
// "Math"): activations row-major f32 [M][D], matmuls through nn.h's Linear
// (oneDNN for many rows), attention through the block kernel and the
// Retriever. Called outside TBB parallel regions (oneDNN runs on OpenMP).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "landmark/model.h"
#include "src/nn/nn.h"
#include "landmark/retriever.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace landmark {

// Sliding-window attention + MLP weights (every block has them).
struct SwaMlpWeights {
  std::vector<float> attn_norm, mlp_norm;  // [D]
  Linear wqkv;                             // [3D][D]: wq, wk, wv stacked
  Linear wo, w1, w2;
};

struct UpperWeights {
  BlockKind kind = BlockKind::kHsa;
  SwaMlpWeights swa;
  std::vector<float> hsa_norm, hsa_r_norm;  // hsa
  Linear hsa_wrq;                           // [2D][D]: hsa_wr, hsa_wq stacked
  Linear hsa_wo;
  std::vector<float> gmu_norm;  // gmu
  Linear gmu_win, gmu_wout;
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

namespace model {

// The keys (before RoPE) and values of one block's last W−1 positions,
// [tokens][D] each: what its sliding window still needs.
struct SwaCache {
  std::vector<float> k, v;
  size_t tokens = 0;
};

// Scratch reused across segments (grows to the largest M).
struct Workspace {
  std::vector<float> a, qkv, k_span, v_span, k_rot, k_rev, v_rev, q_rot, o, hidden, rope;
  std::vector<float> rq, r, retrieved, mem;
  size_t rope_positions = 0;
};

// f(begin, end) over row ranges of `rows` on oneTBB: the element-wise work
// between matmuls (norms, RoPE, GELU, copies) runs on every core too.
template <typename F>
void ForRows(size_t rows, F&& f, size_t grain = 64) {
  tbb::parallel_for(tbb::blocked_range<size_t>(0, rows, grain),
                    [&](const tbb::blocked_range<size_t>& r) { f(r.begin(), r.end()); });
}

// RMSNorm of rows (group = d: ordinary; head_dim: per head), in parallel.
void Norm(const float* x, const std::vector<float>& weight, size_t rows, size_t d, size_t group, float eps,
          float* y);

// x [M][D] = embed[bytes].
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
  std::vector<uint32_t> last_chunks;  // first HSA block, head 0, at the last position
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
