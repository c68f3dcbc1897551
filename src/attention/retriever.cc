// The retrieval engine: plan (candidates, local term), score landmarks and
// select top-k per selection head, attend the chosen chunks, fuse.

#include "landmark/retriever.h"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <string>

#include "landmark/error.h"
#include "src/kernels/kernels.h"
#include "src/attention/landmark_scores.h"
#include "src/attention/retriever_shard.h"
#include "src/attention/top_k.h"
#include "src/backend/cuda_backend.h"

namespace landmark {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// Landmark bytes per scoring task, at least: enough work to pay for the
// task; otherwise the candidates are cut into 4 tasks per thread, so that
// every core scores (a 1M-token store of one head is 4 MiB of landmarks).
constexpr size_t kMinScoreBytes = size_t(32) << 10;
// Chunks scored per head before moving to the next head (their landmarks
// stay in L2 meanwhile).
constexpr size_t kSubRange = 128;

float Softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

// Prefetches [p, p + bytes) into L2 (never faults).
void PrefetchBytes(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(c + offset, 0, 2);
}

}  // namespace

struct Retriever::Impl {
  const StoreReader& store;
  RetrieverConfig config;
  StoreShape shape;
  size_t H = 0, G = 0, d = 0, S = 0, LH = 0, R = 0;
  LandmarkScorer scorer;
  Device device = Device::kCpu;
  // CUDA: the GPU retriever (src/cuda/decode.cu), one batch at a time.
  std::unique_ptr<backend::Decoder> gpu;
  mutable std::mutex gpu_mutex;
  size_t gpu_chunks = 0;  // landmarks uploaded so far
  // A shard of a larger store (ShardEngine): plans in the whole store's
  // chunk ids, and attends only the chunks this store holds.
  bool sharded = false;
  ShardLayout layout;
  mutable tbb::enumerable_thread_specific<SoftmaxAccumulator> accumulators;

  Impl(const StoreReader& s, const RetrieverConfig& c) : store(s), config(c), shape(s.shape()), scorer(s) {
    H = shape.kv_heads;
    d = shape.head_dim;
    S = shape.chunk_size;
    LH = shape.landmark_heads;
    R = shape.landmark_dim;
    if (config.q_heads == 0) config.q_heads = H;
    LANDMARK_CHECK_ARG(config.q_heads % H == 0, "retriever: query heads (" + std::to_string(config.q_heads) +
                                                    ") must be a multiple of the store's kv heads (" +
                                                    std::to_string(H) + ")");
    G = config.q_heads / H;
    LANDMARK_CHECK_ARG(G <= kMaxGroup, "retriever: " + std::to_string(G) + " query heads per kv head; at most " +
                                           std::to_string(kMaxGroup));
    LANDMARK_CHECK_ARG(LH == H || LH == 1, "retriever: the store has " + std::to_string(LH) +
                                               " landmark heads; selection needs one per kv head (" +
                                               std::to_string(H) + ") or one shared");
    LANDMARK_CHECK_ARG(config.fusion == Fusion::kJoint || config.sink_chunks == 0,
                       "retriever: sink chunks belong to joint fusion");
    device = ResolveDevice(config.device);
    if (device == Device::kCuda) StartGpu();
  }

  // ------------------------------------------------------------------ GPU

  backend::DecodeStore GpuStore() const {
    backend::DecodeStore v;
    v.dtype = shape.dtype;
    v.chunk_size = S;
    v.kv_heads = H;
    v.head_dim = d;
    v.landmark_heads = LH;
    v.landmark_dim = R;
    v.landmark_values = shape.landmark_values();
    v.minmax = shape.landmark == LandmarkKind::kMinMax;
    v.chunks = store.chunks();
    v.landmarks = store.landmarks();
    const StoreReader* st = &store;
    v.record_tokens = [st](uint32_t c, uint32_t h) { return st->chunk(c, h).tokens; };
    const size_t row_bytes = d * SizeOf(shape.dtype), values_offset = S * row_bytes;
    v.copy_records = [st, row_bytes, values_offset](const uint32_t* chunks, const uint32_t* heads, size_t count,
                                                    void* dst, size_t record_bytes) {
      tbb::parallel_for(tbb::blocked_range<size_t>(0, count, 8), [&](const tbb::blocked_range<size_t>& range) {
        for (size_t i = range.begin(); i != range.end(); ++i) {
          const ChunkKV kv = st->chunk(chunks[i], heads[i]);
          char* record = static_cast<char*>(dst) + i * record_bytes;
          std::memcpy(record, kv.keys, kv.tokens * row_bytes);
          std::memcpy(record + values_offset, kv.values, kv.tokens * row_bytes);
        }
      });
    };
    return v;
  }

  void StartGpu() {
    backend::Backend* cuda = backend::CudaBackend();
    LANDMARK_ASSERT(cuda != nullptr);
    backend::DecodeOptions options;
    const uint64_t kv_device_bytes = uint64_t(store.chunks()) * H * 2 * S * d * SizeOf(shape.dtype);
    const bool fits = kv_device_bytes < cuda->FreeMemory(0) / 2;
    LANDMARK_CHECK_ARG(config.gpu_kv != GpuKv::kResident || fits,
                       "retriever: gpu_kv resident: the store's K/V (" + std::to_string(kv_device_bytes >> 20) +
                           " MiB) does not fit in half of the GPU's free memory");
    options.placement = config.gpu_kv == GpuKv::kResident || (config.gpu_kv == GpuKv::kAuto && fits)
                            ? backend::KvPlacement::kResident
                            : backend::KvPlacement::kStream;
    try {
      gpu = cuda->CreateDecoder(GpuStore(), options);
    } catch (const std::exception& e) {
      LANDMARK_THROW(std::string("retriever: ") + e.what());
    }
    gpu_chunks = store.chunks();
  }

  size_t GlobalChunks() const { return sharded ? layout.chunks : store.chunks(); }
  size_t GlobalTokens() const { return sharded ? layout.tokens : store.tokens(); }
  size_t First() const { return sharded ? layout.first_chunk : 0; }
  // Whether this store holds global chunk c (its complete chunks, or its tail).
  bool Holds(size_t c) const {
    return c >= First() && (c - First() < store.chunks() || (c - First() == store.chunks() && store.info().tail_tokens > 0));
  }
  ChunkKV ChunkOf(size_t c, size_t head) const { return store.chunk(c - First(), head); }

  // Candidates and the local term of a query at `position` (docs/design.md).
  struct Plan {
    bool empty = true;  // nothing visible (an empty store)
    size_t p = 0, sink_end = 0, cand_end = 0, local_begin = 0, local_end = 0;
  };

  Plan MakePlan(size_t position, bool past_store = false) const {
    Plan plan;
    const size_t n = GlobalTokens();
    if (position == kLastPosition) {
      if (n == 0) return plan;
      position = n - 1;
    }
    LANDMARK_CHECK_ARG(position < n || past_store, "retriever: query position " + std::to_string(position) +
                                                       " is past the store's " + std::to_string(n) + " tokens");
    const size_t visible = position + 1;
    plan.cand_end = visible >= config.window ? (visible - config.window) / S : 0;
    LANDMARK_CHECK_ARG(plan.cand_end <= GlobalChunks(),
                       "retriever: a query at position " + std::to_string(position) + " with window " +
                           std::to_string(config.window) + " needs chunks past the store's " +
                           std::to_string(GlobalChunks()) + " complete chunks");
    plan.empty = n == 0;
    plan.p = position;
    plan.sink_end = config.fusion == Fusion::kJoint ? std::min(config.sink_chunks, plan.cand_end) : 0;
    plan.local_begin = plan.cand_end * S;
    plan.local_end = std::min(visible, n);
    return plan;
  }

  // hsa fusion may leave the local term out (a model's own SWA covers it).
  bool Local() const { return config.local_term || config.fusion == Fusion::kJoint; }

  // r per selection head [LH][R]: given, or the mean of the group's queries.
  std::vector<float> RetrievalVectors(const RetrievalQuery& query) const {
    std::vector<float> r(LH * R, 0.0f);
    if (query.r) {
      std::copy(query.r, query.r + LH * R, r.begin());
      return r;
    }
    LANDMARK_CHECK_ARG(R == d, "retriever: landmarks of dim " + std::to_string(R) + " differ from the head dim " +
                                   std::to_string(d) + "; give the retrieval query r");
    const size_t per_head = config.q_heads / LH;  // the queries whose mean is r
    for (size_t h = 0; h < LH; ++h) {
      for (size_t g = 0; g < per_head; ++g) {
        const float* q = query.q + (h * per_head + g) * d;
        for (size_t k = 0; k < d; ++k) r[h * R + k] += q[k] / float(per_head);
      }
    }
    return r;
  }

  // The records of selection head h's chunks: one kv head's, or every kv
  // head's when one selection serves them all.
  void Prefetch(const std::vector<ScoredChunk>& chosen, size_t h) const {
    if (!config.prefetch || chosen.empty()) return;
    std::vector<size_t> ids;
    for (const ScoredChunk& c : chosen) ids.push_back(c.chunk - First());
    store.Prefetch(ids.data(), ids.size(), LH == H ? h : StoreReader::kAllHeads);
  }

  // This store's candidates [begin, end) (global ids) of a plan.
  std::pair<size_t, size_t> HeldCandidates(const Plan& plan) const {
    const size_t begin = std::max(plan.sink_end, First()), end = std::min(plan.cand_end, First() + store.chunks());
    return {begin, std::max(begin, end)};
  }

  // Top-k per selection head for one query: every core scores a range of
  // the candidates and keeps its own top-k per head; the heads' partial
  // top-k are then merged in parallel, each head's chunks prefetched as
  // soon as its selection is known.
  Selection Select(const Plan& plan, const std::vector<float>& r) const {
    Selection selected(LH);
    const std::pair<size_t, size_t> held = HeldCandidates(plan);
    const size_t begin = held.first, end = held.second;
    if (plan.empty || end <= begin || config.top_k == 0) return selected;
    const size_t count = end - begin;
    const size_t chunk_bytes = LH * shape.landmark_values() * SizeOf(shape.dtype);
    const size_t min_chunks = std::max<size_t>(kSubRange, kMinScoreBytes / std::max<size_t>(1, chunk_bytes));
    const size_t threads = size_t(std::max(1, tbb::this_task_arena::max_concurrency()));
    const size_t ranges = std::clamp<size_t>((count + min_chunks - 1) / min_chunks, 1, 4 * threads);
    const size_t per_range = (count + ranges - 1) / ranges;
    // Per (head, range): the range's best k and its k-th score.
    std::vector<std::vector<ScoredChunk>> partial(LH * ranges);
    std::vector<float> kth(LH * ranges);
    struct Scratch {
      std::vector<float> scores, selection;
      std::vector<uint32_t> candidates;
    };
    tbb::enumerable_thread_specific<Scratch> scratch;
    // Each task scores its range for every head, a few chunks at a time:
    // the landmarks [chunk][head][R] are read front to back once (one head
    // alone would read 1 row in LH, skipping through pages and the TLB).
    tbb::parallel_for(size_t(0), ranges, [&](size_t range) {
      const size_t from = begin + range * per_range, to = std::min(end, from + per_range), n = to - from;
      Scratch& local = scratch.local();
      local.scores.resize(LH * n);
      for (size_t sub = from; sub < to; sub += kSubRange) {
        const size_t m = std::min(kSubRange, to - sub);
        for (size_t h = 0; h < LH; ++h) scorer.Score(&r[h * R], h, sub - First(), m, &local.scores[h * n + (sub - from)]);
      }
      for (size_t h = 0; h < LH; ++h) {
        kth[h * ranges + range] = AppendBest(&local.scores[h * n], n, uint32_t(from), config.top_k, local.selection,
                                             local.candidates, partial[h * ranges + range]);
      }
    });
    // Per head: only scores at or above the best range's k-th can be among
    // the k best of all.
    tbb::parallel_for(size_t(0), LH, [&](size_t h) {
      const float bound = *std::max_element(kth.begin() + std::ptrdiff_t(h * ranges),
                                            kth.begin() + std::ptrdiff_t((h + 1) * ranges));
      std::vector<ScoredChunk>& chosen = selected[h];
      for (size_t i = 0; i < ranges; ++i) {
        for (const ScoredChunk& c : partial[h * ranges + i]) {
          if (bound == kNegInf || c.score >= bound) chosen.push_back(c);
        }
      }
      KeepBest(chosen, config.top_k);
      Prefetch(chosen, h);
    });
    return selected;
  }

  // One chunk (or a prefix of it) attended by one kv head's queries.
  struct Item {
    size_t kv_head;
    size_t chunk;  // global id
    size_t tokens;
    bool zero_logit;
    int64_t selection;  // index in its selection head's chunks; -1: a sink or a local piece
  };

  // Per kv head: its selected chunks, then the sinks, then the local pieces.
  struct Items {
    std::vector<Item> items;
    std::vector<size_t> first_item, retrieval_items;  // [H + 1], [H]
  };

  // Only the chunks this store holds (all of them, unless it is a shard).
  Items MakeItems(const Plan& plan, const Selection& selected) const {
    Items it;
    it.first_item.assign(H + 1, 0);
    it.retrieval_items.assign(H, 0);
    if (plan.empty) return it;
    const bool softmax1 = config.softmax_off_by_one;
    for (size_t h = 0; h < H; ++h) {
      it.first_item[h] = it.items.size();
      const std::vector<ScoredChunk>& chosen = selected[LH == H ? h : 0];
      for (size_t i = 0; i < chosen.size(); ++i) {
        if (Holds(chosen[i].chunk)) it.items.push_back({h, chosen[i].chunk, S, softmax1, int64_t(i)});
      }
      for (size_t c = 0; c < plan.sink_end; ++c) {
        if (Holds(c)) it.items.push_back({h, c, S, softmax1, -1});
      }
      it.retrieval_items[h] = it.items.size() - it.first_item[h];
      for (size_t c = plan.cand_end; Local() && c * S < plan.local_end; ++c) {
        if (Holds(c)) it.items.push_back({h, c, std::min(S, plan.local_end - c * S), false, -1});
      }
    }
    it.first_item[H] = it.items.size();
    return it;
  }

  // Outputs sized and zeroed (lse -inf), counts and bytes filled.
  RetrievalResult EmptyResult(const Plan& plan, const Items& it) const {
    RetrievalResult result;
    const size_t q_heads = config.q_heads;
    result.out.assign(q_heads * d, 0.0f);
    result.lse.assign(config.fusion == Fusion::kJoint ? q_heads : 0, kNegInf);
    if (config.fusion == Fusion::kHsa) {
      result.local_out.assign(q_heads * d, 0.0f);
      result.local_lse.assign(q_heads, kNegInf);
    }
    result.selections.resize(LH);
    if (plan.empty) return result;
    result.position = plan.p;
    result.candidates = plan.cand_end - plan.sink_end;
    result.local_tokens = Local() ? plan.local_end - plan.local_begin : 0;
    const size_t b = SizeOf(shape.dtype);
    const auto [begin, end] = HeldCandidates(plan);
    result.bytes_touched = uint64_t(end - begin) * LH * shape.landmark_values() * b;
    for (const Item& item : it.items) result.bytes_touched += 2 * uint64_t(item.tokens) * d * b;
    return result;
  }

  // Per selection head: [selected][served kv heads][G] log-sum-exps of
  // the chosen chunks attended here (-inf: not here), from the items'
  // lses [items][G].
  std::vector<std::vector<float>> SelectedLse(const Selection& selected, const Items& it, const float* lses) const {
    const size_t served = LH == H ? 1 : H;
    std::vector<std::vector<float>> out(LH);
    for (size_t s = 0; s < LH; ++s) out[s].assign(selected[s].size() * served * G, kNegInf);
    for (size_t i = 0; i < it.items.size(); ++i) {
      const Item& item = it.items[i];
      if (item.selection < 0) continue;
      const size_t s = LH == H ? item.kv_head : 0, j = LH == H ? 0 : item.kv_head;
      std::copy_n(lses + i * G, G, &out[s][(size_t(item.selection) * served + j) * G]);
    }
    return out;
  }

  // The chunks this store holds of a query's selection, sinks and local
  // term, attended and fused (no explanations: see Explain).
  RetrievalResult Attend(const Plan& plan, const RetrievalQuery& query, const Selection& selected,
                         std::vector<std::vector<float>>& selected_lse) const {
    const Items it = MakeItems(plan, selected);
    RetrievalResult result = EmptyResult(plan, it);
    if (plan.empty) return result;
    const std::vector<Item>& items = it.items;
    const size_t b = SizeOf(shape.dtype);

    const float scale = 1.0f / std::sqrt(float(d));
    std::vector<QueryBlock> queries(H);
    for (size_t h = 0; h < H; ++h) queries[h].Prepare(query.q + h * G * d, 1, G, 0, d, scale);
    // Every element is written below: no zero fill.
    const std::unique_ptr<float[]> outs(new float[items.size() * G * d]), lses(new float[items.size() * G]);
    const size_t kv_bytes = d * b;  // per token, K or V
    tbb::parallel_for(tbb::blocked_range<size_t>(0, items.size(), 4), [&](const tbb::blocked_range<size_t>& range) {
      SoftmaxAccumulator& acc = accumulators.local();
      for (size_t i = range.begin(); i != range.end(); ++i) {
        // Selected chunks lie scattered through the store: fetch the next
        // one's K and V into L2 while this one is attended.
        if (i + 1 != range.end()) {
          const ChunkKV next = ChunkOf(items[i + 1].chunk, items[i + 1].kv_head);
          PrefetchBytes(next.keys, items[i + 1].tokens * kv_bytes);
          PrefetchBytes(next.values, items[i + 1].tokens * kv_bytes);
        }
        const Item& item = items[i];
        const ChunkKV kv = ChunkOf(item.chunk, item.kv_head);
        acc.Reset(queries[item.kv_head]);
        AttendBlock(queries[item.kv_head], KVBlock{kv.keys, kv.values, shape.dtype, item.tokens, d, d}, nullptr, acc);
        acc.Finish(outs.get() + i * G * d, 0, lses.get() + i * G, 0, item.zero_logit);
      }
    });

    std::vector<float> weights;
    for (size_t h = 0; h < H; ++h) {
      const size_t first = it.first_item[h], parts = it.first_item[h + 1] - first, retrieval = it.retrieval_items[h];
      const float* part_out = outs.get() + first * G * d;
      const float* part_lse = lses.get() + first * G;
      float* out = result.out.data() + h * G * d;
      if (config.fusion == Fusion::kJoint) {
        MergeByLse(part_out, part_lse, parts, G, d, out, result.lse.data() + h * G);
      } else {
        MergeByLse(part_out + retrieval * G * d, part_lse + retrieval * G, parts - retrieval, G, d,
                   result.local_out.data() + h * G * d, result.local_lse.data() + h * G);
        if (retrieval > 0) {
          // The weights of the whole selection; this store's chunks take theirs.
          const std::vector<float> w = HsaWeights(selected[LH == H ? h : 0]);
          weights.resize(retrieval * G);
          for (size_t i = 0; i < retrieval; ++i) std::fill_n(&weights[i * G], G, w[size_t(items[first + i].selection)]);
          WeightedSum(part_out, weights.data(), retrieval, G, d, out);
        }
      }
    }
    selected_lse = SelectedLse(selected, it, lses.get());
    return result;
  }

  // The batch on the GPU: plans and r here, then scoring and top-k there;
  // items and HSA weights here (the same code as the CPU path), attention
  // and fusion there; explanations here from the per-item lse.
  std::vector<RetrievalResult> QueryOnGpu(const std::vector<RetrievalQuery>& queries) const {
    std::lock_guard<std::mutex> lock(gpu_mutex);
    // LANDMARK_CUDA_PROFILE: the host steps' wall times, to stderr.
    using Clock = std::chrono::steady_clock;
    const bool profile = std::getenv("LANDMARK_CUDA_PROFILE") != nullptr;
    Clock::time_point marks[6];
    marks[0] = Clock::now();
    const size_t M = queries.size(), q_heads = config.q_heads;
    std::vector<Plan> plans(M);
    std::vector<float> r(M * LH * R, 0.0f), q(M * q_heads * d);
    std::vector<backend::SelectRange> ranges(M);
    tbb::parallel_for(size_t(0), M, [&](size_t i) {
      plans[i] = MakePlan(queries[i].position, queries[i].past_store);
      std::copy_n(queries[i].q, q_heads * d, &q[i * q_heads * d]);
      if (plans[i].empty) return;
      const std::vector<float> ri = RetrievalVectors(queries[i]);
      std::copy(ri.begin(), ri.end(), &r[i * LH * R]);
      ranges[i] = {uint32_t(plans[i].sink_end), uint32_t(std::max(plans[i].sink_end, plans[i].cand_end))};
    });
    bool any = false;
    for (size_t i = 0; i < M; ++i) any = any || (!plans[i].empty && ranges[i].end > ranges[i].first);
    if (store.chunks() > gpu_chunks) {
      gpu->SyncLandmarks(GpuStore());
      const_cast<Impl*>(this)->gpu_chunks = store.chunks();
    }
    const size_t k = std::min<size_t>(config.top_k, store.chunks());  // past the candidates: all of them
    std::vector<std::vector<std::vector<ScoredChunk>>> selected(M, std::vector<std::vector<ScoredChunk>>(LH));
    try {
      if (any && k > 0) {
        std::vector<uint32_t> chunks(M * LH * k), counts(M * LH);
        std::vector<float> scores(M * LH * k);
        marks[1] = Clock::now();
        gpu->Select(r.data(), ranges.data(), M, k, chunks.data(), scores.data(), counts.data());
        marks[2] = Clock::now();
        tbb::parallel_for(size_t(0), M, [&](size_t i) {
          for (size_t h = 0; h < LH; ++h) {
            const size_t base = (i * LH + h) * k;
            selected[i][h].reserve(counts[i * LH + h]);
            for (size_t j = 0; j < counts[i * LH + h]; ++j) selected[i][h].push_back({scores[base + j], chunks[base + j]});
            if (!gpu->resident()) Prefetch(selected[i][h], h);
          }
        });
      }
      // The host side of a batch, per query in parallel (the items, the
      // results, then the explanations): a batch's queries are independent.
      std::vector<Items> items(M);
      std::vector<RetrievalResult> results(M);
      tbb::parallel_for(size_t(0), M, [&](size_t i) {
        items[i] = MakeItems(plans[i], selected[i]);
        results[i] = EmptyResult(plans[i], items[i]);
      });
      std::vector<size_t> offset(M + 1, 0);  // each query's first item in `all`
      for (size_t i = 0; i < M; ++i) offset[i + 1] = offset[i] + (plans[i].empty ? 0 : items[i].items.size());
      std::vector<backend::AttendItem> all(offset[M]);
      std::vector<backend::AttendGroup> groups(M * H);
      tbb::parallel_for(size_t(0), M, [&](size_t i) {
        for (size_t h = 0; h < H && !plans[i].empty; ++h) {
          const size_t first = items[i].first_item[h], retrieval = items[i].retrieval_items[h];
          groups[i * H + h] = {uint32_t(offset[i] + first), uint32_t(items[i].first_item[h + 1] - first),
                               uint32_t(retrieval)};
          std::vector<float> w;
          if (config.fusion == Fusion::kHsa && retrieval > 0) w = HsaWeights(selected[i][LH == H ? h : 0]);
          for (size_t j = first; j < items[i].first_item[h + 1]; ++j) {
            const Item& item = items[i].items[j];
            all[offset[i] + j] = {uint32_t(i), uint32_t(h), uint32_t(item.chunk), uint32_t(item.tokens),
                                  uint32_t(item.zero_logit), j - first < w.size() ? w[j - first] : 0.0f};
          }
        }
      });
      const bool hsa = config.fusion == Fusion::kHsa;
      std::vector<float> out(M * q_heads * d), lse(hsa ? 0 : M * q_heads), local_out(hsa ? M * q_heads * d : 0),
          local_lse(hsa ? M * q_heads : 0), item_lse(all.size() * G);
      backend::AttendOutput output{out.data(), hsa ? nullptr : lse.data(), hsa ? local_out.data() : nullptr,
                                   hsa ? local_lse.data() : nullptr, item_lse.data()};
      marks[3] = Clock::now();
      gpu->Attend(q.data(), M, q_heads, all.data(), all.size(), groups.data(), hsa, output);
      marks[4] = Clock::now();
      tbb::parallel_for(size_t(0), M, [&](size_t i) {
        if (plans[i].empty) return;
        RetrievalResult& res = results[i];
        std::copy_n(&out[i * q_heads * d], q_heads * d, res.out.begin());
        if (hsa) {
          std::copy_n(&local_out[i * q_heads * d], q_heads * d, res.local_out.begin());
          std::copy_n(&local_lse[i * q_heads], q_heads, res.local_lse.begin());
        } else {
          std::copy_n(&lse[i * q_heads], q_heads, res.lse.begin());
        }
        Explain(selected[i], SelectedLse(selected[i], items[i], item_lse.data() + size_t(groups[i * H].first_item) * G),
                res);
      });
      if (profile) {
        marks[5] = Clock::now();
        if (marks[1] == Clock::time_point{}) marks[1] = marks[2] = marks[0];
        auto ms = [&](int a, int b) { return std::chrono::duration<double, std::milli>(marks[b] - marks[a]).count(); };
        std::fprintf(stderr, "cuda-profile host: M %zu: plans %.3f ms, Select %.3f ms, items %.3f ms, Attend %.3f ms, "
                     "results %.3f ms, whole %.3f ms\n", M, ms(0, 1), ms(1, 2), ms(2, 3), ms(3, 4), ms(4, 5), ms(0, 5));
      }
      return results;
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      LANDMARK_THROW(std::string("retriever: ") + e.what());
    }
  }

  // HSA weights of the selected chunks (in their order, best first).
  std::vector<float> HsaWeights(const std::vector<ScoredChunk>& chosen) const {
    std::vector<float> w(chosen.size());
    if (chosen.empty()) return w;
    if (config.weights == RetrievalWeights::kSoftmax) {
      float max = kNegInf;
      for (const ScoredChunk& c : chosen) max = std::max(max, c.score);
      double total = 0;
      for (size_t i = 0; i < chosen.size(); ++i) total += (w[i] = std::exp(chosen[i].score - max));
      for (float& x : w) x = float(x / total);
      return w;
    }
    // Stick-breaking, most recent chunk first: w_i = exp(s_i - Σ_{j<=i} softplus(s_j)).
    std::vector<size_t> order(chosen.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return chosen[a].chunk > chosen[b].chunk; });
    double softplus_sum = 0;
    for (size_t i : order) {
      softplus_sum += Softplus(chosen[i].score);
      w[i] = float(std::exp(double(chosen[i].score) - softplus_sum));
    }
    return w;
  }

  // selected_lse: as SelectedLse, for the whole query.
  void Explain(const Selection& selected, const std::vector<std::vector<float>>& selected_lse,
               RetrievalResult& result) const {
    for (size_t s = 0; s < LH; ++s) {
      SelectionExplanation& e = result.selections[s];
      for (const ScoredChunk& c : selected[s]) {
        e.chunks.push_back(c.chunk);
        e.scores.push_back(c.score);
      }
      if (config.fusion == Fusion::kHsa) {
        e.weights = HsaWeights(selected[s]);
        continue;
      }
      // Joint: each chunk's share exp(lse_i - LSE), averaged over the heads it served.
      e.weights.assign(selected[s].size(), 0.0f);
      const size_t served = LH == H ? 1 : H;
      for (size_t i = 0; i < selected[s].size(); ++i) {
        for (size_t j = 0; j < served; ++j) {
          const size_t h = LH == H ? s : j;
          for (size_t g = 0; g < G; ++g) {
            const float total = result.lse[h * G + g];
            const float part = selected_lse[s][(i * served + j) * G + g];
            if (total != kNegInf) e.weights[i] += std::exp(part - total) / float(G * served);
          }
        }
      }
    }
  }

  // One query on the CPU.
  RetrievalResult QueryCpu(const Plan& plan, const RetrievalQuery& query, const Selection& selected) const {
    std::vector<std::vector<float>> selected_lse;
    RetrievalResult result = Attend(plan, query, selected, selected_lse);
    if (!plan.empty) Explain(selected, selected_lse, result);
    return result;
  }
};

Retriever::Retriever(const StoreReader& store, const RetrieverConfig& config)
    : impl_(std::make_unique<Impl>(store, config)) {}
Retriever::~Retriever() = default;
Retriever::Retriever(Retriever&&) noexcept = default;

const RetrieverConfig& Retriever::config() const { return impl_->config; }
Device Retriever::device() const { return impl_->device; }
bool Retriever::kv_on_gpu() const { return impl_->gpu && impl_->gpu->resident(); }

RetrievalResult Retriever::Query(const RetrievalQuery& query) const {
  LANDMARK_CHECK_ARG(query.q != nullptr, "retriever: the query q is null");
  if (impl_->gpu) return impl_->QueryOnGpu({query})[0];
  const Impl::Plan plan = impl_->MakePlan(query.position, query.past_store);
  Selection selected(impl_->LH);
  if (!plan.empty) selected = impl_->Select(plan, impl_->RetrievalVectors(query));
  return impl_->QueryCpu(plan, query, selected);
}

RetrievalResult Retriever::QueryChunks(const RetrievalQuery& query, const std::vector<uint32_t>& chunks,
                                       const std::vector<float>& scores) const {
  LANDMARK_CHECK_ARG(query.q != nullptr, "retriever: the query q is null");
  LANDMARK_CHECK_ARG(chunks.size() == scores.size(), "retriever: one score per chosen chunk");
  const Impl::Plan plan = impl_->MakePlan(query.position, query.past_store);
  Selection selected(impl_->LH);
  const auto [begin, end] = impl_->HeldCandidates(plan);
  for (auto& head : selected) {
    for (size_t i = 0; i < chunks.size() && head.size() < impl_->config.top_k; ++i) {
      if (chunks[i] >= begin && chunks[i] < end) head.push_back({scores[i], chunks[i]});
    }
  }
  if (!plan.empty) {
    for (size_t h = 0; h < impl_->LH; ++h) impl_->Prefetch(selected[h], h);
  }
  return impl_->QueryCpu(plan, query, selected);
}

std::vector<RetrievalResult> Retriever::QueryBatch(const std::vector<RetrievalQuery>& queries) const {
  const Impl& m = *impl_;
  for (const RetrievalQuery& q : queries) LANDMARK_CHECK_ARG(q.q != nullptr, "retriever: a query q is null");
  if (m.gpu) return m.QueryOnGpu(queries);
  std::vector<Impl::Plan> plans;
  std::vector<std::vector<float>> r;
  for (const RetrievalQuery& q : queries) {
    plans.push_back(m.MakePlan(q.position, q.past_store));
    r.push_back(plans.back().empty ? std::vector<float>() : m.RetrievalVectors(q));
  }
  std::vector<std::vector<std::vector<ScoredChunk>>> selected(queries.size(),
                                                              std::vector<std::vector<ScoredChunk>>(m.LH));
  if (queries.size() >= m.config.batch_gemm_min && m.scorer.SupportsGemm()) {
    // One GEMM per landmark tile scores every query; each keeps its own top-k.
    std::vector<TopK> top(queries.size() * m.LH, TopK(m.config.top_k));
    size_t rows = 0;
    for (const Impl::Plan& p : plans) rows = std::max(rows, p.empty ? 0 : p.cand_end);
    std::vector<float> rm(m.LH * queries.size() * m.R, 0.0f);  // [LH][M][R]
    for (size_t h = 0; h < m.LH; ++h) {
      for (size_t i = 0; i < queries.size(); ++i) {
        if (!plans[i].empty) std::copy_n(&r[i][h * m.R], m.R, &rm[(h * queries.size() + i) * m.R]);
      }
    }
    m.scorer.ScoreBatch(rm.data(), queries.size(), rows, [&](size_t h, size_t first, size_t count, const float* scores) {
      tbb::parallel_for(size_t(0), queries.size(), [&](size_t i) {  // each query's heap is its own
        const Impl::Plan& p = plans[i];
        if (p.empty) return;
        const size_t begin = std::max(first, p.sink_end), end = std::min(first + count, p.cand_end);
        if (begin < end) top[i * m.LH + h].PushRange(scores + i * count + (begin - first), end - begin, uint32_t(begin));
      });
    });
    for (size_t i = 0; i < queries.size(); ++i) {
      for (size_t h = 0; h < m.LH; ++h) {
        selected[i][h] = top[i * m.LH + h].Sorted();
        m.Prefetch(selected[i][h], h);
      }
    }
  } else {
    for (size_t i = 0; i < queries.size(); ++i) {
      if (!plans[i].empty) selected[i] = m.Select(plans[i], r[i]);
    }
  }
  std::vector<RetrievalResult> results(queries.size());
  tbb::parallel_for(size_t(0), queries.size(), [&](size_t i) { results[i] = m.QueryCpu(plans[i], queries[i], selected[i]); });
  return results;
}

// ------------------------------------------------------------------ shards

ShardEngine::ShardEngine(const StoreReader& shard, const RetrieverConfig& config, const ShardLayout& layout)
    : retriever_(shard, [&] {
        RetrieverConfig c = config;
        c.device = Device::kCpu;
        return c;
      }()) {
  Retriever::Impl& m = *retriever_.impl_;
  LANDMARK_CHECK_ARG(layout.first_chunk + shard.chunks() <= layout.chunks &&
                         layout.tokens >= layout.chunks * m.S &&
                         (shard.info().tail_tokens == 0 || layout.first_chunk + shard.chunks() == layout.chunks),
                     "shard: chunks [" + std::to_string(layout.first_chunk) + ", " +
                         std::to_string(layout.first_chunk + shard.chunks()) + ") do not fit a store of " +
                         std::to_string(layout.chunks) + " chunks (only the last shard may end in a partial chunk)");
  m.sharded = true;
  m.layout = layout;
}

ShardEngine::~ShardEngine() = default;

const RetrieverConfig& ShardEngine::config() const { return retriever_.config(); }
size_t ShardEngine::selection_heads() const { return retriever_.impl_->LH; }

Selection ShardEngine::SelectLocal(const RetrievalQuery& query) const {
  const Retriever::Impl& m = *retriever_.impl_;
  LANDMARK_CHECK_ARG(query.q != nullptr, "retriever: the query q is null");
  const Retriever::Impl::Plan plan = m.MakePlan(query.position, query.past_store);
  if (plan.empty) return Selection(m.LH);
  return m.Select(plan, m.RetrievalVectors(query));
}

ShardPartial ShardEngine::AttendLocal(const RetrievalQuery& query, const Selection& selected) const {
  const Retriever::Impl& m = *retriever_.impl_;
  const Retriever::Impl::Plan plan = m.MakePlan(query.position, query.past_store);
  ShardPartial p;
  RetrievalResult r = m.Attend(plan, query, selected, p.selected_lse);
  if (plan.empty) p.selected_lse.assign(m.LH, {});
  p.out = std::move(r.out);
  p.lse = std::move(r.lse);
  p.local_out = std::move(r.local_out);
  p.local_lse = std::move(r.local_lse);
  p.bytes_touched = r.bytes_touched;
  return p;
}

RetrievalResult ShardEngine::Combine(const RetrievalQuery& query, const Selection& selected,
                                     const std::vector<ShardPartial>& partials) const {
  const Retriever::Impl& m = *retriever_.impl_;
  const Retriever::Impl::Plan plan = m.MakePlan(query.position, query.past_store);
  RetrievalResult result = m.EmptyResult(plan, Retriever::Impl::Items{});
  if (plan.empty) return result;
  const size_t parts = partials.size(), q_heads = m.config.q_heads, d = m.d, G = m.G;
  result.bytes_touched = 0;
  for (const ShardPartial& p : partials) result.bytes_touched += p.bytes_touched;
  // Per kv head, the shards' parts stacked [parts][G][d] and [parts][G] for MergeByLse.
  std::vector<float> outs(parts * G * d), lses(parts * G);
  auto merge = [&](auto out_of, auto lse_of, float* out, float* lse) {
    for (size_t h = 0; h < m.H; ++h) {
      for (size_t i = 0; i < parts; ++i) {
        std::copy_n(&(partials[i].*out_of)[h * G * d], G * d, &outs[i * G * d]);
        std::copy_n(&(partials[i].*lse_of)[h * G], G, &lses[i * G]);
      }
      MergeByLse(outs.data(), lses.data(), parts, G, d, out + h * G * d, lse + h * G);
    }
  };
  if (m.config.fusion == Fusion::kJoint) {
    merge(&ShardPartial::out, &ShardPartial::lse, result.out.data(), result.lse.data());
  } else {
    merge(&ShardPartial::local_out, &ShardPartial::local_lse, result.local_out.data(), result.local_lse.data());
    for (const ShardPartial& p : partials) {
      for (size_t i = 0; i < q_heads * d; ++i) result.out[i] += p.out[i];
    }
  }
  std::vector<std::vector<float>> selected_lse(m.LH);
  for (size_t s = 0; s < m.LH; ++s) {
    for (const ShardPartial& p : partials) {
      if (selected_lse[s].empty()) selected_lse[s].assign(p.selected_lse[s].size(), kNegInf);
      LANDMARK_ASSERT(p.selected_lse[s].size() == selected_lse[s].size());
      for (size_t i = 0; i < selected_lse[s].size(); ++i) selected_lse[s][i] = std::max(selected_lse[s][i], p.selected_lse[s][i]);
    }
  }
  m.Explain(selected, selected_lse, result);
  return result;
}

}  // namespace landmark
