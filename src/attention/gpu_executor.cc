#include "src/attention/gpu_executor.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "landmark/error.h"
#include "src/attention/explain.h"
#include "src/attention/fusion.h"

namespace landmark {

backend::DecodeStore GpuExecutor::Store() const {
  const StoreShape& shape = ctx_.shape;
  backend::DecodeStore v;
  v.dtype = shape.dtype;
  v.chunk_size = ctx_.S;
  v.kv_heads = ctx_.H;
  v.head_dim = ctx_.d;
  v.landmark_heads = ctx_.LH;
  v.landmark_dim = ctx_.R;
  v.landmark_values = shape.landmark_values();
  v.minmax = shape.landmark == LandmarkKind::kMinMax;
  v.chunks = ctx_.store.chunks();
  v.landmarks = ctx_.store.landmarks();
  const StoreReader* st = &ctx_.store;
  v.record_tokens = [st](uint32_t c, uint32_t h) { return st->chunk(c, h).tokens; };
  const size_t row_bytes = ctx_.d * SizeOf(shape.dtype), values_offset = ctx_.S * row_bytes;
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

GpuExecutor::GpuExecutor(const RetrievalContext& ctx) : ctx_(ctx) {
  backend::Backend* cuda = backend::CudaBackend();
  LANDMARK_ASSERT(cuda != nullptr);
  backend::DecodeOptions options;
  const uint64_t kv_device_bytes = uint64_t(ctx.store.chunks()) * ctx.H * 2 * ctx.S * ctx.d * SizeOf(ctx.shape.dtype);
  const bool fits = kv_device_bytes < cuda->FreeMemory(0) / 2;
  const GpuKv kv = ctx.config.gpu_kv;
  LANDMARK_CHECK_ARG(kv != GpuKv::kResident || fits,
                     "retriever: gpu_kv resident: the store's K/V (" + std::to_string(kv_device_bytes >> 20) +
                         " MiB) does not fit in half of the GPU's free memory");
  options.placement = kv == GpuKv::kResident || (kv == GpuKv::kAuto && fits) ? backend::KvPlacement::kResident
                                                                               : backend::KvPlacement::kStream;
  try {
    decoder_ = cuda->CreateDecoder(Store(), options);
  } catch (const std::exception& e) {
    LANDMARK_THROW(std::string("retriever: ") + e.what());
  }
  uploaded_ = ctx.store.chunks();
}

GpuExecutor::~GpuExecutor() = default;

// The batch in one flat pass per step, every step parallel over the
// queries and without per-query item lists: plans and r; then, while the
// GPU scores and selects, the attend inputs that do not depend on the
// selection (q, groups, sink and local items: each group's item count is
// known from its plan, min(k, candidates) selected) are written straight
// into the decoder's pinned buffers; then the selected items and their HSA
// weights; attention and fusion on the GPU; results and explanations here.
std::vector<RetrievalResult> GpuExecutor::QueryBatch(const std::vector<RetrievalQuery>& queries) const {
  std::lock_guard<std::mutex> lock(mutex_);
  // LANDMARK_CUDA_PROFILE: the host steps' wall times, to stderr.
  using Clock = std::chrono::steady_clock;
  const bool profile = std::getenv("LANDMARK_CUDA_PROFILE") != nullptr;
  Clock::time_point marks[6];
  marks[0] = Clock::now();
  const RetrievalContext& ctx = ctx_;
  const size_t M = queries.size(), q_heads = ctx.config.q_heads, H = ctx.H, G = ctx.G, d = ctx.d;
  const size_t LH = ctx.LH, R = ctx.R, S = ctx.S;
  const bool hsa = ctx.config.fusion == Fusion::kHsa;
  std::vector<QueryPlan> plans(M);
  std::vector<float> r(M * LH * R, 0.0f);
  std::vector<backend::SelectRange> ranges(M);
  tbb::parallel_for(size_t(0), M, [&](size_t i) {
    plans[i] = MakePlan(ctx, queries[i].position, queries[i].past_store);
    if (plans[i].empty) return;
    RetrievalVectors(ctx, queries[i], &r[i * LH * R]);
    ranges[i] = {uint32_t(plans[i].sink_end), uint32_t(std::max(plans[i].sink_end, plans[i].cand_end))};
  });
  bool any = false;
  for (size_t i = 0; i < M; ++i) any = any || (!plans[i].empty && ranges[i].end > ranges[i].first);
  if (ctx.store.chunks() > uploaded_) {
    decoder_->SyncLandmarks(Store());
    uploaded_ = ctx.store.chunks();
  }
  const size_t k = std::min<size_t>(ctx.config.top_k, ctx.store.chunks());  // past the candidates: all of them
  const bool selecting = any && k > 0;
  // Per query: selected chunks per head, and its first item.
  std::vector<size_t> chosen(M, 0), offset(M + 1, 0);
  const std::vector<ScoredChunk> none;
  for (size_t i = 0; i < M; ++i) {
    if (plans[i].empty) {
      offset[i + 1] = offset[i];
      continue;
    }
    chosen[i] = selecting ? std::min<size_t>(k, ranges[i].end - ranges[i].first) : 0;
    size_t others = 0;  // sinks and local pieces of one kv head
    ForEachItem(ctx, plans[i], none, 0, [&](const PlanItem&, bool) { ++others; });
    offset[i + 1] = offset[i] + H * (chosen[i] + others);
  }
  const size_t item_count = offset[M];
  std::vector<Selection> selected(M, Selection(LH));
  std::vector<RetrievalResult> results(M);
  try {
    std::vector<uint32_t> chunks(selecting ? M * LH * k : 0), counts(selecting ? M * LH : 0);
    std::vector<float> scores(chunks.size());
    marks[1] = Clock::now();
    tbb::task_group select;
    if (selecting) {
      select.run([&] { decoder_->Select(r.data(), ranges.data(), M, k, chunks.data(), scores.data(), counts.data()); });
    }
    const backend::AttendInputs in = decoder_->AttendBuffers(M, q_heads, item_count);
    const uint32_t softmax1 = ctx.config.softmax_off_by_one;
    tbb::parallel_for(size_t(0), M, [&](size_t i) {
      std::memcpy(in.q + i * q_heads * d, queries[i].q, q_heads * d * sizeof(float));
      uint64_t kv_tokens = uint64_t(H) * chosen[i] * S;
      for (size_t h = 0, at = offset[i]; h < H; ++h) {
        backend::AttendGroup& group = in.groups[i * H + h];
        group = {uint32_t(at), 0, uint32_t(chosen[i])};
        at += chosen[i];
        ForEachItem(ctx, plans[i], none, h, [&](const PlanItem& item, bool retrieval) {
          in.items[at++] = {uint32_t(i), uint32_t(h), uint32_t(item.chunk), uint32_t(item.tokens),
                            uint32_t(item.zero_logit), 0.0f};
          group.retrieval += retrieval;
          kv_tokens += item.tokens;
        });
        group.parts = uint32_t(at - group.first_item);
      }
      results[i] = EmptyResult(ctx, plans[i], kv_tokens);
    });
    select.wait();
    marks[2] = Clock::now();
    // The selections, their items and weights.
    tbb::parallel_for(size_t(0), M, [&](size_t i) {
      if (!selecting || plans[i].empty) return;
      std::vector<float> w;  // hsa: the weights of kv head h's selection head
      for (size_t s = 0; s < LH; ++s) {
        const size_t base = (i * LH + s) * k, n = counts[i * LH + s];
        if (n != chosen[i]) throw std::runtime_error("cuda: the selection holds another count than planned");
        selected[i][s].reserve(n);
        for (size_t j = 0; j < n; ++j) selected[i][s].push_back({scores[base + j], chunks[base + j]});
        if (!decoder_->resident()) PrefetchSelected(ctx, selected[i][s], s);
      }
      for (size_t h = 0; h < H; ++h) {
        const size_t s = ctx.SelectionHead(h), first = in.groups[i * H + h].first_item;
        if (hsa && (h == 0 || LH == H)) w = HsaWeights(selected[i][s], ctx.config.weights);
        for (size_t j = 0; j < chosen[i]; ++j) {
          in.items[first + j] = {uint32_t(i), uint32_t(h), selected[i][s][j].chunk, uint32_t(S), softmax1,
                                 hsa ? w[j] : 0.0f};
        }
      }
    });
    marks[3] = Clock::now();
    const backend::AttendResults out = decoder_->Attend(M, q_heads, item_count, hsa);
    marks[4] = Clock::now();
    tbb::parallel_for(size_t(0), M, [&](size_t i) {
      if (plans[i].empty) return;
      RetrievalResult& res = results[i];
      std::copy_n(out.out + i * q_heads * d, q_heads * d, res.out.begin());
      if (hsa) {
        std::copy_n(out.local_out + i * q_heads * d, q_heads * d, res.local_out.begin());
        std::copy_n(out.local_lse + i * q_heads, q_heads, res.local_lse.begin());
      } else {
        std::copy_n(out.lse + i * q_heads, q_heads, res.lse.begin());
      }
      Explain(ctx, selected[i], SelectedLse(ctx, selected[i], plans[i], out.item_lse + offset[i] * G), res);
    });
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    LANDMARK_THROW(std::string("retriever: ") + e.what());
  }
  if (profile) {
    marks[5] = Clock::now();
    auto ms = [&](int a, int b) { return std::chrono::duration<double, std::milli>(marks[b] - marks[a]).count(); };
    std::fprintf(stderr, "cuda-profile host: M %zu: plans %.3f ms, Select + inputs %.3f ms, items %.3f ms, "
                 "Attend %.3f ms, results %.3f ms, whole %.3f ms\n", M, ms(0, 1), ms(1, 2), ms(2, 3), ms(3, 4),
                 ms(4, 5), ms(0, 5));
  }
  return results;
}

}  // namespace landmark
