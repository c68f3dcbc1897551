// StoreAttention: sinks + top-k chunks + local window + pending tokens, one
// softmax (the plan and the position frame are in store_attention.h).
#include "src/llm/store_attention.h"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "landmark/error.h"
#include "src/kernels/kernels.h"

namespace landmark::llm {

// The stored tokens every new token of one layer sees whatever it selects:
// the sink chunks and the local window, rotated at their frame positions,
// per kv head [kv_heads][tokens][d].
struct StoreAttention::Part {
  size_t tokens = 0;
  std::vector<float> k, v;
};

// Per-thread buffers of AttendStored, kept across calls: a decode step
// allocates nothing (fresh multi-MiB buffers cost page faults every token).
struct StoreAttention::Scratch {
  std::vector<float> r, scores, k, v;
  std::vector<int64_t> positions;
  QueryBlock queries;
  SoftmaxAccumulator acc;
};
struct StoreAttention::ScratchSet : tbb::enumerable_thread_specific<Scratch> {};

StoreAttention::StoreAttention(const StoreReader* store, const AttentionShape& shape, Rope& rope,
                               const StoreAttentionOptions& options)
    : store_(store), shape_(shape), rope_(rope), options_(options), scratch_(std::make_unique<ScratchSet>()) {
  LANDMARK_CHECK_ARG(shape.layers > 0 && shape.kv_heads > 0 && shape.q_heads % shape.kv_heads == 0,
                     "store attention: query heads (" + std::to_string(shape.q_heads) +
                         ") must be a multiple of kv heads (" + std::to_string(shape.kv_heads) + ")");
  LANDMARK_CHECK_ARG(rope.head_dim() == shape.head_dim, "store attention: RoPE of dim " +
                                                            std::to_string(rope.head_dim()) + " for head dim " +
                                                            std::to_string(shape.head_dim));
  LANDMARK_CHECK_ARG(options.select_block > 0, "store attention: select_block must be positive");
  rotated_k_.resize(shape.layers);
  values_.resize(shape.layers);
  Plan();
}

StoreAttention::~StoreAttention() = default;

void StoreAttention::Plan() {
  n_ = cand_end_ = sink_end_ = m_ = delta_ = 0;
  static_.clear();
  static_.resize(shape_.layers);
  scorer_.reset();
  if (store_ == nullptr) return;
  const StoreShape& s = store_->shape();
  const std::string where = store_->info().path + ": ";
  LANDMARK_CHECK_ARG(s.kv_heads == shape_.layers * shape_.kv_heads && s.head_dim == shape_.head_dim,
                     where + "the store holds " + std::to_string(s.kv_heads) + " kv heads of dim " +
                         std::to_string(s.head_dim) + ", the model needs " + std::to_string(shape_.layers) +
                         " layers × " + std::to_string(shape_.kv_heads) + " heads of dim " +
                         std::to_string(shape_.head_dim));
  LANDMARK_CHECK_ARG(s.landmark != LandmarkKind::kLearned && s.landmark_heads == s.kv_heads,
                     where + "the store's landmarks must be mean or minmax, one per kv head");
  n_ = store_->tokens();
  S_ = s.chunk_size;
  const size_t W = options_.window;
  cand_end_ = n_ >= W ? std::min(store_->chunks(), (n_ - W) / S_) : 0;
  sink_end_ = std::min(options_.sink_chunks, cand_end_);
  m_ = std::min(options_.top_k, cand_end_ - sink_end_);
  delta_ = options_.true_positions ? 0 : (cand_end_ - sink_end_ - m_) * S_;
  scorer_ = std::make_unique<LandmarkScorer>(*store_);
}

void StoreAttention::Rebase(const StoreReader* store) {
  store_ = store;
  Plan();
  LANDMARK_CHECK_ARG(n_ == 0 || store_ != nullptr, "store attention: rebase without a store");
  pending_ = 0;
  pending_k_.clear();
  pending_v_.clear();
  for (auto& k : rotated_k_) k.clear();
  for (auto& v : values_) v.clear();
}

const StoreAttention::Part& StoreAttention::StaticPart(size_t layer) {
  if (static_[layer]) return *static_[layer];
  auto part = std::make_unique<Part>();
  const size_t H = shape_.kv_heads, d = shape_.head_dim;
  const size_t sink_tokens = sink_end_ * S_, local_begin = cand_end_ * S_;
  part->tokens = sink_tokens + (n_ - local_begin);
  part->k.resize(H * part->tokens * d);
  part->v.resize(H * part->tokens * d);
  const DType dtype = store_->shape().dtype;
  tbb::parallel_for(size_t(0), H, [&](size_t h) {
    std::vector<int64_t> pos(S_);
    size_t row = 0;
    auto add = [&](size_t c, int64_t shift) {
      const ChunkKV kv = store_->chunk(c, layer * H + h);
      for (size_t u = 0; u < kv.tokens; ++u) pos[u] = int64_t(c * S_ + u) - shift;
      float* k = part->k.data() + (h * part->tokens + row) * d;
      rope_.Rotate(kv.keys, dtype, kv.tokens, d, pos.data(), k, d);
      ConvertToF32(kv.values, dtype, kv.tokens * d, part->v.data() + (h * part->tokens + row) * d);
      row += kv.tokens;
    };
    for (size_t c = 0; c < sink_end_; ++c) add(c, 0);
    for (size_t c = cand_end_; c * S_ < n_; ++c) add(c, int64_t(delta_));  // complete chunks, then the tail
    LANDMARK_ASSERT(row == part->tokens);
  });
  static_[layer] = std::move(part);
  return *static_[layer];
}

void StoreAttention::Attend(size_t layer, size_t first, const float* q, const float* k, const float* v, size_t T,
                            float* out) {
  const size_t L = shape_.layers, H = shape_.kv_heads, Hq = shape_.q_heads, d = shape_.head_dim;
  LANDMARK_CHECK_ARG(layer < L, "store attention: layer " + std::to_string(layer) + " of " + std::to_string(L));
  LANDMARK_CHECK_ARG(first == n_ + pending_, "store attention: tokens at " + std::to_string(first) +
                                                 " do not continue the context at " +
                                                 std::to_string(n_ + pending_));
  if (T == 0) return;
  const size_t P = pending_;
  // Frame positions of the new tokens; every position the call reads must be in the table.
  rope_.Reserve(n_ + P + T - delta_);
  std::vector<int64_t> positions(T * std::max(Hq, H));
  auto frame = [&](size_t heads) {
    for (size_t t = 0; t < T; ++t) std::fill_n(&positions[t * heads], heads, int64_t(first + t - delta_));
  };
  std::vector<float> q_rot(T * Hq * d);
  frame(Hq);
  rope_.Rotate(q, DType::kF32, T * Hq, d, positions.data(), q_rot.data(), d);

  // Keep the new K (before RoPE, store layout) and V; rotate K for attention.
  if (layer == 0) {
    pending_k_.resize((P + T) * L * H * d);
    pending_v_.resize((P + T) * L * H * d);
  }
  for (size_t t = 0; t < T; ++t) {
    const size_t dst = ((P + t) * L + layer) * H * d;
    std::copy_n(k + t * H * d, H * d, pending_k_.begin() + dst);
    std::copy_n(v + t * H * d, H * d, pending_v_.begin() + dst);
  }
  rotated_k_[layer].resize((P + T) * H * d);
  values_[layer].resize((P + T) * H * d);
  frame(H);
  rope_.Rotate(k, DType::kF32, T * H, d, positions.data(), rotated_k_[layer].data() + P * H * d, d);
  std::copy_n(v, T * H * d, values_[layer].begin() + P * H * d);

  const size_t rows = T * Hq;
  std::vector<float> outs(2 * rows * d), lses(2 * rows);
  AttendPending(layer, q_rot.data(), T, outs.data() + rows * d, lses.data() + rows);
  if (n_ == 0) {
    std::copy_n(outs.begin() + rows * d, rows * d, out);
  } else {
    AttendStored(layer, q, q_rot.data(), T, outs.data(), lses.data());
    MergeByLse(outs.data(), lses.data(), 2, rows, d, out, nullptr);
  }
  if (layer + 1 == L) pending_ += T;
}

void StoreAttention::AttendPending(size_t layer, const float* q_rot, size_t T, float* out, float* lse) {
  const size_t H = shape_.kv_heads, Hq = shape_.q_heads, G = Hq / H, d = shape_.head_dim, P = pending_;
  const float* k = rotated_k_[layer].data();
  const float* v = values_[layer].data();
  if (P == 0 && T > 1) {  // a whole segment: the block-sparse causal kernel
    SparsePrefill(q_rot, Hq, KVSequence::TokenMajor(k, v, DType::kF32, T, H, d), out, lse, options_.segment);
    return;
  }
  std::vector<uint32_t> visible(T);
  for (size_t t = 0; t < T; ++t) visible[t] = uint32_t(P + t + 1);
  const float scale = 1.0f / std::sqrt(float(d));
  tbb::enumerable_thread_specific<SoftmaxAccumulator> accumulators;
  tbb::enumerable_thread_specific<QueryBlock> query_blocks;
  tbb::parallel_for(size_t(0), H, [&](size_t h) {
    QueryBlock& queries = query_blocks.local();
    SoftmaxAccumulator& acc = accumulators.local();
    queries.Prepare(q_rot + h * G * d, T, G, Hq * d, d, scale);
    acc.Reset(queries);
    AttendBlock(queries, KVBlock{k + h * d, v + h * d, DType::kF32, P + T, H * d, H * d}, visible.data(), acc);
    acc.Finish(out + h * G * d, Hq * d, lse + h * G, Hq);
  });
}

void StoreAttention::AttendStored(size_t layer, const float* q, const float* q_rot, size_t T,
                                  float* out, float* lse) {
  const size_t H = shape_.kv_heads, Hq = shape_.q_heads, G = Hq / H, d = shape_.head_dim;
  const Part& part = StaticPart(layer);
  const size_t blocks = (T + options_.select_block - 1) / options_.select_block;
  const DType dtype = store_->shape().dtype;
  const float scale = 1.0f / std::sqrt(float(d));
  std::vector<std::vector<ScoredChunk>> chosen(blocks * H);
  tbb::parallel_for(size_t(0), blocks * H, [&](size_t task) {
    const size_t b = task / H, h = task % H, head = layer * H + h;
    const size_t t0 = b * options_.select_block, t1 = std::min(T, t0 + options_.select_block);
    Scratch& s = scratch_->local();
    // Select: r = the mean query (before RoPE) of the block's tokens and the group's heads.
    std::vector<ScoredChunk>& picked = chosen[task];
    if (m_ > 0) {
      s.r.assign(d, 0.0f);
      const float weight = 1.0f / float((t1 - t0) * G);
      for (size_t t = t0; t < t1; ++t) {
        for (size_t g = 0; g < G; ++g) {
          const float* qi = q + (t * Hq + h * G + g) * d;
          for (size_t i = 0; i < d; ++i) s.r[i] += qi[i] * weight;
        }
      }
      const size_t count = cand_end_ - sink_end_;
      s.scores.resize(count);
      scorer_->Score(s.r.data(), head, sink_end_, count, s.scores.data());
      TopK top(options_.top_k);
      top.PushRange(s.scores.data(), count, uint32_t(sink_end_));
      picked = top.Sorted();
    }
    // The chosen chunks take the slots after the sinks in chunk order.
    std::vector<ScoredChunk> slots = picked;
    std::sort(slots.begin(), slots.end(), [](const ScoredChunk& a, const ScoredChunk& b) { return a.chunk < b.chunk; });
    if (!slots.empty()) {
      std::vector<size_t> ids(slots.size());
      for (size_t j = 0; j < slots.size(); ++j) ids[j] = slots[j].chunk;
      store_->Prefetch(ids.data(), ids.size(), head);
    }
    s.k.resize(slots.size() * S_ * d);
    s.v.resize(slots.size() * S_ * d);
    s.positions.resize(S_);
    for (size_t j = 0; j < slots.size(); ++j) {
      const size_t c = slots[j].chunk;
      const ChunkKV kv = store_->chunk(c, head);
      const size_t base = options_.true_positions ? c * S_ : (sink_end_ + j) * S_;
      for (size_t u = 0; u < S_; ++u) s.positions[u] = int64_t(base + u);
      rope_.Rotate(kv.keys, dtype, S_, d, s.positions.data(), s.k.data() + j * S_ * d, d);
      ConvertToF32(kv.values, dtype, S_ * d, s.v.data() + j * S_ * d);
    }
    s.queries.Prepare(q_rot + (t0 * Hq + h * G) * d, t1 - t0, G, Hq * d, d, scale);
    s.acc.Reset(s.queries);
    if (part.tokens > 0) {
      const float* pk = part.k.data() + h * part.tokens * d;
      const float* pv = part.v.data() + h * part.tokens * d;
      AttendBlock(s.queries, KVBlock{pk, pv, DType::kF32, part.tokens, d, d}, nullptr, s.acc);
    }
    if (!slots.empty()) {
      AttendBlock(s.queries, KVBlock{s.k.data(), s.v.data(), DType::kF32, slots.size() * S_, d, d}, nullptr, s.acc);
    }
    s.acc.Finish(out + (t0 * Hq + h * G) * d, Hq * d, lse + t0 * Hq + h * G, Hq);
  });
  if (on_select) {
    for (size_t task = 0; task < chosen.size(); ++task) on_select(layer, task % H, chosen[task]);
  }
}

}  // namespace landmark::llm
