// Retrieval attention over a chunk store for a pretrained transformer
// (InfLLM-style, with the landmark selection of HSA): each layer's new
// tokens attend
//   - the sink chunks (the first chunks: BOS, the prompt's preamble),
//   - the top-k chunks of their kv head, chosen by landmarks,
//   - the local window: the stored tokens after the last candidate chunk,
//   - the pending tokens (after the store: a segment being ingested, or a
//     question and its answer), causally,
// with one exact softmax over all of them (LSE merge of the parts).
//
// The store keeps every layer's K (BEFORE RoPE) and V: its kv heads are
// layer-major, store head l·H_kv + h. Positions are given at read time:
// sinks keep their own, the m selected chunks (in chunk order) take the
// slots right after the sinks, and the local window and pending tokens
// follow with their distances kept, shifted by
//   Δ = (candidates − m)·S
// so the whole frame spans sinks + m·S + window + pending positions however
// long the store is: a model trained at 4K–32K reads millions of tokens.
// When every candidate is selected (or with true_positions), Δ = 0: this is
// dense causal attention over the whole store, exactly.
//
// Candidates (for a store of n tokens, S per chunk, window W):
//   chunks [sink_end, cand_end), cand_end = n >= W ? (n − W)/S : 0 (complete chunks only),
//   sink_end = min(sink_chunks, cand_end); local = tokens [cand_end·S, n).
// Selection: per block of `select_block` new tokens and per kv head, r = the
// mean of the block's queries (before RoPE) over the group's query heads,
// s_c = r·L_c/sqrt(d) with the store's mean (or Quest minmax) landmarks,
// top-k with ties to the lower chunk id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "landmark/device.h"
#include "landmark/prefill.h"
#include "landmark/store.h"
#include "src/attention/landmark_scores.h"
#include "src/attention/top_k.h"
#include "src/llm/layer_attention.h"
#include "src/llm/rope.h"

namespace landmark::llm {

// What the store serves: `layers` × `kv_heads` store heads of head_dim, and
// q_heads = G·kv_heads query heads per layer.
struct AttentionShape {
  size_t layers = 0, q_heads = 0, kv_heads = 0, head_dim = 0;
};

struct StoreAttentionOptions {
  size_t sink_chunks = 1;     // always attended (attention sinks)
  size_t window = 1024;       // W, local tokens attended exactly (the local term holds W..W+S−1)
  size_t top_k = 16;          // chunks per kv head and layer
  size_t select_block = 128;  // new tokens per selection
  bool true_positions = false;  // chunks at their own positions (tests: dense when all are selected)
  // Among the pending tokens of one call (an ingest segment): the block mask
  // policy of the causal part (flashprefill or dense), on `device`.
  SparsePrefillOptions segment = {PrefillPolicy::kFlashPrefill, 64, {}, {}, Device::kCpu};
};

class StoreAttention : public LayerAttention {
 public:
  // `store` holds tokens [0, n) with shape.layers·shape.kv_heads kv heads (or
  // is nullptr: nothing stored yet); new tokens continue at n. `rope` must
  // outlive this object (its table grows as positions are needed).
  StoreAttention(const StoreReader* store, const AttentionShape& shape, Rope& rope,
                 const StoreAttentionOptions& options);
  ~StoreAttention() override;

  void Attend(size_t layer, size_t first, const float* q, const float* k, const float* v, size_t T,
              float* out) override;

  size_t stored_tokens() const { return n_; }
  size_t pending_tokens() const { return pending_; }
  // The position the next new token gets in the frame (its RoPE position);
  // must stay below the model's trained context.
  size_t next_frame_position() const { return n_ + pending_ - delta_; }
  size_t selected_per_head() const { return m_; }  // m
  size_t candidates() const { return cand_end_ - sink_end_; }

  // The pending tokens' K (before RoPE) and V in the store's token layout
  // [pending][layers·kv_heads][head_dim], f32: what an ingest appends.
  const std::vector<float>& pending_keys() const { return pending_k_; }
  const std::vector<float>& pending_values() const { return pending_v_; }
  // The pending tokens are in `store` now (appended, committed, reader
  // refreshed or reopened): plan against it and forget them.
  void Rebase(const StoreReader* store);

  // Called with every selection (layer, kv head, chunks best first); for
  // explanations (which chunks an answer read).
  std::function<void(size_t layer, size_t kv_head, const std::vector<ScoredChunk>& chosen)> on_select;

 private:
  struct Part;  // the stored tokens every new token of a layer sees: sinks + local, rotated
  void Plan();
  const Part& StaticPart(size_t layer);
  void AttendStored(size_t layer, const float* q, const float* q_rot, size_t T, float* out, float* lse);
  void AttendPending(size_t layer, const float* q_rot, size_t T, float* out, float* lse);

  const StoreReader* store_;
  AttentionShape shape_;
  Rope& rope_;
  StoreAttentionOptions options_;
  std::unique_ptr<LandmarkScorer> scorer_;
  size_t n_ = 0, S_ = 0, cand_end_ = 0, sink_end_ = 0, m_ = 0, delta_ = 0;
  size_t pending_ = 0;  // tokens of completed forward passes
  std::vector<float> pending_k_, pending_v_;        // store layout, before RoPE
  std::vector<std::vector<float>> rotated_k_;       // per layer [pending][kv_heads][d], at frame positions
  std::vector<std::vector<float>> values_;          // per layer [pending][kv_heads][d]
  std::vector<std::unique_ptr<Part>> static_;       // per layer, built on first use
  struct Scratch;
  struct ScratchSet;
  std::unique_ptr<ScratchSet> scratch_;
};

}  // namespace landmark::llm
