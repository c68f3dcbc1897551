// One layer of a pretrained transformer's retrieval attention over a chunk
// store, in double precision, written from the plan in
// src/llm/store_attention.h with plain loops per query (no code shared with
// the engine): candidates, mean or minmax landmarks, per-block selection,
// the position frame (sinks, selected slots, shifted local + pending), RoPE
// in the rotate_half layout, one softmax over everything visible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace landmark::reference {

struct LlmAttentionSpec {
  size_t layers = 1, layer = 0, q_heads = 1, kv_heads = 1, d = 8;
  size_t S = 8, window = 0, sinks = 0, top_k = 4, select_block = 128;
  bool true_positions = false, minmax = false;
  std::vector<double> inv_freq;  // [d/2]
};

struct LlmAttentionOutput {
  std::vector<double> out;                         // [T][q_heads][d]
  std::vector<std::vector<std::vector<size_t>>> selected;  // [block][kv head] chunks, best first
};

// stored K (before RoPE), V: [n][layers·kv_heads][d] (the store's rows as
// read); after: [P + T][layers·kv_heads][d] the tokens after the store (the
// last T are the new ones); q: [T][q_heads][d] of `layer`, before RoPE.
LlmAttentionOutput LlmRetrievalAttention(const std::vector<double>& stored_k, const std::vector<double>& stored_v,
                                         size_t n, const std::vector<double>& after_k,
                                         const std::vector<double>& after_v, size_t P, size_t T,
                                         const std::vector<double>& q, const LlmAttentionSpec& spec);

// Causal attention with RoPE at true positions over a whole sequence
// K, V [N][kv_heads][d] for queries q [T][q_heads][d] at positions N−T..N−1.
std::vector<double> DenseRopeAttention(const std::vector<double>& K, const std::vector<double>& V, size_t N,
                                       const std::vector<double>& q, size_t T, size_t q_heads, size_t kv_heads,
                                       size_t d, const std::vector<double>& inv_freq);

}  // namespace landmark::reference
