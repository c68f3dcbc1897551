// The retrieval engine (Hierarchical Sparse Attention over a chunk store):
// score the landmarks of the candidate chunks, select the top-k per kv head,
// attend to the selected chunks with the block kernel and fuse.
// The math is docs/design.md's "Positions and candidates", "Scoring and
// selection" and "Fusion modes".
//
// For a query at position p (it sees tokens 0..p; default p = n-1) and a
// window of W tokens, chunk c is a candidate iff (c+1)·S <= p+1-W. The local
// term is every visible token after the last candidate chunk.
//   score  s_c = r·L_c / sqrt(R)           (mean, learned landmarks)
//          s_c = Σ_j max(r_j·min_j, r_j·max_j) / sqrt(R)   (minmax: Quest bound)
//   select I = top-k(s), ties to the lower chunk id (k > candidates: all)
//   attend o_i, lse_i = softmax(q·K_iᵀ/sqrt(d))·V_i per selected chunk
//   fuse   joint: LSE merge of the selected chunks, the sink chunks and the
//                 local term (= dense attention when every candidate is selected)
//          hsa:   Σ_i w_i·o_i with w = softmax(s_I) or stick-breaking;
//                 the local term is returned separately
// r is the retrieval query: given, or the mean of the kv head's G query
// heads. A store with one landmark head selects once for all kv heads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "landmark/device.h"
#include "landmark/store.h"

namespace landmark {

enum class Fusion : uint8_t { kJoint, kHsa };
enum class RetrievalWeights : uint8_t { kSoftmax, kStickBreaking };
// Where a GPU retriever keeps the store's K/V: all of it in GPU memory
// (uploaded once), or only the selected chunks, streamed per query from the
// mapped store through pinned buffers. kAuto: resident when it fits in half
// of the GPU's free memory. Landmarks are always resident.
enum class GpuKv : uint8_t { kAuto, kResident, kStream };
const char* Name(GpuKv placement);             // "auto" | "resident" | "stream"
GpuKv ParseGpuKv(const std::string& name);
const char* Name(Fusion fusion);              // "joint" | "hsa"
const char* Name(RetrievalWeights weights);   // "softmax" | "stickbreaking"
Fusion ParseFusion(const std::string& name);  // throws landmark::Error
RetrievalWeights ParseRetrievalWeights(const std::string& name);

// Query heads per kv head (G) a retriever accepts.
constexpr size_t kMaxGroup = 1024;

struct RetrieverConfig {
  size_t q_heads = 0;           // H_q (a multiple of the store's kv heads, G ≤ kMaxGroup); 0: = kv heads
  size_t top_k = 64;            // k
  Fusion fusion = Fusion::kJoint;
  RetrievalWeights weights = RetrievalWeights::kSoftmax;  // hsa only
  bool softmax_off_by_one = false;  // an implicit zero logit inside each chunk (HSA enable_softmax1)
  size_t window = 0;            // W, tokens
  size_t sink_chunks = 0;       // joint only: the first chunks, always attended
  bool prefetch = true;         // madvise(WILLNEED) selected chunks once chosen
  bool local_term = true;       // false: no local term (a model's own SWA covers it); joint: one softmax over the chunks
  // Queries at least this many go through one oneDNN matmul per landmark
  // tile (fewer: a Highway batched dot each). Mean and learned landmarks only.
  size_t batch_gemm_min = 8;
  // Where it runs (device.h). On CUDA: landmarks in GPU memory, scoring and
  // top-k, block attention and fusion on the GPU; the same results as the
  // CPU within the tolerances of tests/backend/README.md.
  Device device = Device::kAuto;
  GpuKv gpu_kv = GpuKv::kAuto;
};

constexpr size_t kLastPosition = std::numeric_limits<size_t>::max();

struct RetrievalQuery {
  const float* q = nullptr;  // [H_q][d]
  const float* r = nullptr;  // [landmark heads][R], or nullptr: mean of each group's queries
  size_t position = kLastPosition;  // p; kLastPosition: n-1
  // The caller holds tokens after the store (a question continuing the
  // document): p may be n or later. The candidate rule is unchanged and must
  // admit only complete stored chunks; the local term is the stored tokens
  // after the candidates.
  bool past_store = false;
};

// Why each chunk was chosen, per selection head (one per kv head, or one
// shared), in order of descending score.
struct SelectionExplanation {
  std::vector<uint32_t> chunks;
  std::vector<float> scores;   // s_c
  std::vector<float> weights;  // hsa: w_i; joint: exp(lse_i - LSE) averaged over the group's heads
};

struct RetrievalResult {
  std::vector<float> out;        // [H_q][d]: the fused output (hsa: the retrieval term)
  std::vector<float> lse;        // [H_q]: joint: log-sum-exp of everything attended
  std::vector<float> local_out;  // hsa: the local term's output [H_q][d]
  std::vector<float> local_lse;  // hsa: its log-sum-exp [H_q]
  std::vector<SelectionExplanation> selections;
  size_t position = 0, candidates = 0, local_tokens = 0;
  uint64_t bytes_touched = 0;    // landmarks scored + K/V attended
};

class ShardEngine;  // src/attention/retriever_shard.h: one shard of a sharded store

class Retriever {
 public:
  // Keeps a reference to `store`, which must outlive the Retriever.
  Retriever(const StoreReader& store, const RetrieverConfig& config);
  ~Retriever();
  Retriever(Retriever&&) noexcept;

  const RetrieverConfig& config() const;
  Device device() const;      // kCpu or kCuda: what config().device resolved to
  bool kv_on_gpu() const;     // CUDA with the K/V resident in GPU memory

  RetrievalResult Query(const RetrievalQuery& query) const;
  // M queries at once: scoring as one GEMM per landmark tile (see
  // batch_gemm_min); identical results to M single queries.
  std::vector<RetrievalResult> QueryBatch(const std::vector<RetrievalQuery>& queries) const;
  // Attends to chunks chosen elsewhere (a text store's BM25 ranking,
  // text_index.h) instead of scoring landmarks: `chunks` in descending
  // `scores`, the same selection for every selection head; chunks that are
  // not candidates of the query's position are left out. On the CPU.
  RetrievalResult QueryChunks(const RetrievalQuery& query, const std::vector<uint32_t>& chunks,
                              const std::vector<float>& scores) const;

 private:
  friend class ShardEngine;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace landmark
