// DenseKvCache: RoPE on the way in, then the dense kernels over the cache.
#include "src/llm/dense_kv_cache.h"

#include <cstdint>
#include <string>

#include "src/kernels/dense_attention.h"
#include "landmark/error.h"

namespace landmark::llm {

DenseKvCache::DenseKvCache(const LlmConfig& config, Rope& rope)
    : q_heads_(config.q_heads),
      kv_heads_(config.kv_heads),
      head_dim_(config.head_dim),
      windows_(config.layer_windows),
      rope_(rope),
      layers_(config.layers) {
  LANDMARK_CHECK_ARG(rope.head_dim() == head_dim_, "dense KV cache: RoPE of dim " + std::to_string(rope.head_dim()) +
                                                       " for head dim " + std::to_string(head_dim_));
  windows_.resize(config.layers, 0);
}

void DenseKvCache::Clear() {
  for (Layer& l : layers_) {
    l.k.clear();
    l.v.clear();
  }
  tokens_ = 0;
}

void DenseKvCache::Attend(size_t layer, size_t first, const float* q, const float* k, const float* v, size_t T,
                          float* out) {
  LANDMARK_CHECK_ARG(layer < layers_.size(), "dense KV cache: layer " + std::to_string(layer) + " of " +
                                                 std::to_string(layers_.size()));
  LANDMARK_CHECK_ARG(first == tokens_, "dense KV cache: tokens at " + std::to_string(first) +
                                           " do not continue the cache of " + std::to_string(tokens_));
  if (T == 0) return;
  const size_t d = head_dim_, KV = kv_heads_ * d, Q = q_heads_ * d, end = first + T;
  rope_.Reserve(end);
  // Positions of the new rows: T·q_heads query rows, T·kv_heads key rows.
  positions_.resize(T * q_heads_);
  for (size_t t = 0; t < T; ++t) std::fill_n(&positions_[t * q_heads_], q_heads_, int64_t(first + t));
  q_rot_.resize(T * Q);
  rope_.Rotate(q, DType::kF32, T * q_heads_, d, positions_.data(), q_rot_.data(), d);
  Layer& l = layers_[layer];
  l.k.resize(end * KV);
  l.v.resize(end * KV);
  for (size_t t = 0; t < T; ++t) std::fill_n(&positions_[t * kv_heads_], kv_heads_, int64_t(first + t));
  rope_.Rotate(k, DType::kF32, T * kv_heads_, d, positions_.data(), l.k.data() + first * KV, d);
  std::copy_n(v, T * KV, l.v.data() + first * KV);

  // Keys before `start` are outside every new token's window.
  const size_t window = windows_[layer];
  const size_t start = window != 0 && first + 1 > window ? first + 1 - window : 0;
  const KVSequence kv = KVSequence::TokenMajor(l.k.data() + start * KV, l.v.data() + start * KV, DType::kF32,
                                               end - start, kv_heads_, d);
  if (T == 1) {
    DenseDecode(q_rot_.data(), q_heads_, kv, out);
  } else {
    PrefillOptions options;
    options.past_tokens = first - start;
    options.window = window;
    CausalPrefill(q_rot_.data(), q_heads_, kv, out, nullptr, options);
  }
  if (layer + 1 == layers_.size()) tokens_ = end;
}

}  // namespace landmark::llm
