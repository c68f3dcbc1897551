// DenseKvCache: the new tokens' keys rotated and appended, then exact
// attention: the causal prefill kernel for a prompt from position 0,
// DenseDecode per token otherwise (decode, continued prompts, windows).
#include "src/llm/dense_cache.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <string>

#include "landmark/dense_attention.h"
#include "landmark/error.h"

namespace landmark::llm {

DenseKvCache::DenseKvCache(size_t layers, size_t q_heads, size_t kv_heads, size_t head_dim, size_t window, Rope& rope)
    : layers_(layers), q_heads_(q_heads), kv_heads_(kv_heads), d_(head_dim), window_(window), rope_(rope),
      k_(layers), v_(layers) {
  LANDMARK_CHECK_ARG(kv_heads > 0 && q_heads % kv_heads == 0, "dense attention: query heads must be a multiple of kv heads");
}

void DenseKvCache::Attend(size_t layer, size_t first, const float* q, const float* k, const float* v, size_t T,
                          float* out) {
  LANDMARK_CHECK_ARG(layer < layers_ && first == tokens_,
                     "dense attention: layer " + std::to_string(layer) + " at " + std::to_string(first) +
                         " does not continue the cache of " + std::to_string(tokens_) + " tokens");
  const size_t row = kv_heads_ * d_, n = tokens_ + T;
  std::vector<float> qr(q, q + T * q_heads_ * d_);
  rope_.Apply(qr.data(), T, q_heads_, q_heads_ * d_, int64_t(first));
  std::vector<float>& K = k_[layer];
  std::vector<float>& V = v_[layer];
  K.resize(n * row);
  V.resize(n * row);
  std::copy_n(k, T * row, K.begin() + tokens_ * row);
  std::copy_n(v, T * row, V.begin() + tokens_ * row);
  rope_.Apply(K.data() + tokens_ * row, T, kv_heads_, row, int64_t(first));
  if (first == 0 && T > 1 && (window_ == 0 || T <= window_)) {
    CausalPrefill(qr.data(), q_heads_, KVSequence::TokenMajor(K.data(), V.data(), DType::kF32, T, kv_heads_, d_),
                  out);
  } else {
    tbb::parallel_for(size_t(0), T, [&](size_t t) {
      const size_t end = first + t + 1, begin = window_ && end > window_ ? end - window_ : 0;
      const KVSequence kv = KVSequence::TokenMajor(K.data() + begin * row, V.data() + begin * row, DType::kF32,
                                                   end - begin, kv_heads_, d_);
      DenseDecode(qr.data() + t * q_heads_ * d_, q_heads_, kv, out + t * q_heads_ * d_);
    });
  }
  if (layer + 1 == layers_) tokens_ = n;
}

}  // namespace landmark::llm
