// Block-sparse causal prefill: a mask policy picks, per kv head and query
// block, the key blocks to attend (FlashPrefill, Dynamic Mask Sparse
// Attention, or all of them), then one fused kernel (CausalPrefill) computes
// the exact softmax over the union of the selected blocks.
//
// Shapes (token-major, elements): Q [L][q_heads][d] f32; K, V [L][kv.heads][d]
// f32/f16/bf16 (a KVSequence); out [L][q_heads][d]; masks [kv.heads][nb][nb]
// with nb = ceil(L / block). The math is docs/design.md, "Sparse prefill".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "landmark/kv_sequence.h"
#include "landmark/device.h"

namespace landmark {

// Which key blocks each query block attends, per kv head. bits[(h*nb + i)*nb + j]
// is 1 when query block i attends key block j (j <= i); the diagonal block
// and block 0 are always 1, the upper triangle always 0.
struct BlockMask {
  size_t heads = 0;   // kv heads
  size_t blocks = 0;  // nb = ceil(tokens / block)
  size_t block = 0;   // B, tokens per block
  size_t tokens = 0;  // L
  std::vector<uint8_t> bits;

  bool selected(size_t head, size_t i, size_t j) const {
    return bits[(head * blocks + i) * blocks + j] != 0;
  }
  // Selected blocks (all heads) and their share of the causal blocks
  // heads·nb(nb+1)/2: 1 for dense; 0 when there are no tokens.
  size_t SelectedBlocks() const;
  double Density() const;
  // (query, key) pairs the kernel computes, all heads: every pair of a
  // selected block, causal pairs only in the diagonal block. Prefill FLOPs =
  // 4 · d · (q_heads / heads) · AttendedPairs().
  double AttendedPairs() const;
};

// FlashPrefill (arXiv 2603.06199): block-pooled queries and keys (mean over
// each block of B tokens), pooled logits A_ij = Qb_i·Kb_j/sqrt(d) for j < i,
// the max over the G query heads of a kv head. Row i keeps:
//  - threshold, kDelta: A_ij >= max_j A_ij - delta (logit units);
//    kAlpha: A_ij > alpha·max_j A_ij + (1 - alpha)·min_j A_ij;
//  - vertical: the max(1, round(vertical_fraction·nb)) key blocks j >= 1 with
//    the highest mean of A over the rows that see them (i > j), in every later
//    row (0 disables);
//  - slash: the `slash_count` diagonal offsets o = i - j >= 1 with the highest
//    mean of A along the diagonal (over j >= 1), along the whole diagonal;
//  - block 0 and the diagonal (never scored: its pool holds future tokens).
// Ties go to the lower block or offset. Block 0 is left out of the vertical
// and slash means because it is always kept.
struct FlashPrefillOptions {
  enum class Threshold { kDelta, kAlpha };
  Threshold threshold = Threshold::kDelta;
  float delta = 4.0f;
  float alpha = 0.15f;
  double vertical_fraction = 0.02;
  size_t slash_count = 4;
};

// Dynamic Mask Sparse Attention (arXiv 2508.02124). Content-aware: key-block
// importance, and per query block i the top k_i = min(i, max(1,
// ceil((1 - sparsity)·(i + 1)))) blocks among j < i (ties to the lower j).
// Importance:
//  - kValueNorm: mean over the block of ‖v_t‖₂;
//  - kPooledQK: the pooled logit A_ij (as FlashPrefill: mean-pooled, max over
//    the group), so the choice depends on the query block;
//  - kLearned: mean over the block of softplus(v_t·w_h), w from `weights`
//    [kv heads][d] (DMA's learned value projection, e.g. loaded from .npy).
// Position-aware, OR'ed in: the `window` blocks before the diagonal; with
// stride s > 0 every j with (i - j) % s == 0; with dilation r > 0 the blocks
// j = i - k·r, k = 1..dilated_count. Block 0 and the diagonal are kept.
struct DmaOptions {
  enum class Importance { kValueNorm, kPooledQK, kLearned };
  Importance importance = Importance::kValueNorm;
  double sparsity = 0.9;
  size_t window = 2;
  size_t stride = 0;
  size_t dilation = 0;
  size_t dilated_count = 4;
  std::vector<float> weights;  // kLearned only: [kv heads][d]
};

enum class PrefillPolicy { kDense, kFlashPrefill, kDma };
const char* Name(PrefillPolicy policy);               // "dense" | "flashprefill" | "dma"
PrefillPolicy ParsePrefillPolicy(std::string_view name);  // throws landmark::Error otherwise

struct SparsePrefillOptions {
  PrefillPolicy policy = PrefillPolicy::kFlashPrefill;
  size_t block = 64;  // B: pooling block = kernel block
  FlashPrefillOptions flashprefill;
  DmaOptions dma;
  // Where the block-sparse kernel runs (device.h). CUDA: the mask is found
  // on the CPU (the same mask), the kernel runs on the GPU (src/cuda/prefill.cu),
  // Q/K/V copied there and the output back; f32 results within the tolerances
  // of tests/backend/README.md. Head dims up to 256 on the GPU.
  Device device = Device::kAuto;
  // CUDA only: the bf16 tensor-core kernel (mma.sync, f32 accumulate; head
  // dims 64 and 128): Q, K, V and P rounded to bf16, so the output differs
  // from the CPU's by bf16 rounding (about 1e-5 normalised MSE), not f32's.
  bool gpu_tensor_cores = false;
  // CUDA only, flashprefill: the mask found on the GPU too (pooled logits,
  // the row thresholds, the column and diagonal means and their top-k in
  // kernels, src/cuda/flashprefill_mask.cu), so that nothing but Q, K and V
  // goes up; SparsePrefillResult::mask is that mask. The same mask as the
  // CPU's wherever the pooled logits agree bit for bit (exactly
  // representable inputs; otherwise within f32 rounding of the dot products).
  bool gpu_mask = false;
};

// The policies' masks. Throw landmark::Error for bad shapes or options
// (naming the option). q may be null when L = 0 (and for DMA's value-based
// importances, which do not read it).
BlockMask DenseMask(size_t tokens, size_t kv_heads, size_t block);
BlockMask FlashPrefillMask(const float* q, size_t q_heads, const KVSequence& kv, size_t block,
                           const FlashPrefillOptions& options = {});
BlockMask DmaMask(const float* q, size_t q_heads, const KVSequence& kv, size_t block,
                  const DmaOptions& options = {});
BlockMask BuildMask(const float* q, size_t q_heads, const KVSequence& kv,
                    const SparsePrefillOptions& options);

struct SparsePrefillResult {
  BlockMask mask;
  double mask_seconds = 0;       // pattern discovery (pooling, scores, rules)
  double attention_seconds = 0;  // the block-sparse kernel (CUDA: with the copies to and from the GPU)
  Device device = Device::kCpu;  // where the kernel ran
  double gpu_kernel_seconds = 0;    // CUDA: the kernel alone (CUDA events)
  double gpu_transfer_seconds = 0;  // CUDA: Q, K, V, mask up and the output down
  double gpu_mask_seconds = 0;      // gpu_mask: the mask kernels (part of gpu_kernel_seconds)
};

// BuildMask, then CausalPrefill with that mask: out [L][q_heads][d], lse
// [L][q_heads] (or nullptr). Parallel with oneTBB in the caller's arena.
SparsePrefillResult SparsePrefill(const float* q, size_t q_heads, const KVSequence& kv, float* out,
                                  float* lse, const SparsePrefillOptions& options);

}  // namespace landmark
