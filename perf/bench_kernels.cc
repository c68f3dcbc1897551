#include "perf/bench_kernels.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <new>
#include <vector>

#include "hwy/aligned_allocator.h"
#include "src/kernels/dense_attention.h"
#include "src/kernels/kernels.h"

namespace landmark::perf {
namespace {

// Deterministic values in [-1, 1) stored as `dtype` (xorshift: fast enough
// for gigabytes, unlike <random>'s normal distribution).
class Buffer {
 public:
  Buffer(size_t elements, DType dtype, uint64_t seed)
      : bytes_(hwy::AllocateAligned<uint8_t>(elements * SizeOf(dtype))) {
    if (!bytes_) throw std::bad_alloc();  // reported by the CLI as out of memory, like any allocation
    std::vector<float> chunk(1 << 16);
    uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t begin = 0; begin < elements; begin += chunk.size()) {
      const size_t n = std::min(chunk.size(), elements - begin);
      for (size_t i = 0; i < n; ++i) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk[i] = float(int32_t(state >> 32)) * (1.0f / 2147483648.0f);
      }
      ConvertFromF32(chunk.data(), n, dtype, bytes_.get() + begin * SizeOf(dtype));
    }
  }
  const void* data() const { return bytes_.get(); }
  const float* f32() const { return reinterpret_cast<const float*>(bytes_.get()); }

 private:
  hwy::AlignedFreeUniquePtr<uint8_t[]> bytes_;
};

struct Suite {
  const KernelBenchOptions& options;
  const std::function<void(const std::string&)>& progress;
  std::vector<BenchResult> results;

  bool Wanted(const std::string& kernel) const {
    return options.filter.empty() || kernel.find(options.filter) != std::string::npos;
  }

  void Measure(const std::string& kernel, DType dtype, const std::string& shape, double work,
               Limit limit, const std::string& target, const std::function<void()>& run) {
    progress(fmt::format("{} {} {}", kernel, Name(dtype), shape));
    // Targets apply to the full-size workload only.
    BenchResult r{kernel, Name(dtype), shape, work, limit, options.quick ? "" : target, 0.0};
    r.seconds = BestSeconds(run, 3, options.quick ? 0.05 : 0.3);
    results.push_back(std::move(r));
  }

  // Landmark scoring: one query against n rows, one thread.
  void BatchedDot() {
    if (!Wanted("batched-dot")) return;
    const size_t n = options.quick ? 1 << 14 : 1 << 19, d = 128;
    Buffer q(d, DType::kF32, 1);
    std::vector<float> scores(n);
    for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
      Buffer rows(n * d, dtype, 2);
      Measure("batched-dot", dtype, fmt::format("rows={} d={}", n, d),
              double(n * d * SizeOf(dtype)), Limit::kReadOneThread, "",
              [&] { landmark::BatchedDot(q.f32(), rows.data(), dtype, n, d, d, scores.data()); });
    }
  }

  // Landmark scoring of the headline store ([chunk][8 heads][128], 1M
  // tokens): every head in one pass over the rows, against the same scores
  // computed one head at a time (8 strided passes), one thread.
  void BatchedDotHeads() {
    if (!Wanted("batched-dot-heads")) return;
    const size_t n = options.quick ? 1 << 11 : 1 << 14, heads = 8, d = 128, stride = heads * d;
    Buffer q(heads * d, DType::kF32, 1);
    std::vector<float> scores(heads * n);
    const DType dtype = DType::kF16;
    Buffer rows(n * stride, dtype, 2);
    const std::string shape = fmt::format("rows={} heads={} d={}", n, heads, d);
    const double bytes = double(n * stride * SizeOf(dtype));
    Measure("batched-dot-heads", dtype, shape, bytes, Limit::kReadOneThread, "", [&] {
      landmark::BatchedDotHeads(q.f32(), rows.data(), dtype, n, heads, d, d, stride, scores.data(), n);
    });
    Measure("batched-dot-head-by-head", dtype, shape, bytes, Limit::kReadOneThread, "", [&] {
      for (size_t h = 0; h < heads; ++h) {
        const auto* slice = static_cast<const uint8_t*>(rows.data()) + h * d * SizeOf(dtype);
        landmark::BatchedDot(q.f32() + h * d, slice, dtype, n, d, stride, scores.data() + h * n);
      }
    });
  }

  // The prefill tile: 64 query rows against 1024 keys in cache, one thread.
  void AttendBlockTile() {
    if (!Wanted("attend-block")) return;
    const size_t rows = 64, m = 1024, d = 128;
    Buffer q(rows * d, DType::kF32, 3);
    QueryBlock queries;
    queries.Prepare(q.f32(), rows, 1, d, d, 1.0f / std::sqrt(float(d)));
    SoftmaxAccumulator state;
    for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
      Buffer k(m * d, dtype, 4), v(m * d, dtype, 5);
      const KVBlock block{k.data(), v.data(), dtype, m, d, d};
      Measure("attend-block", dtype, fmt::format("rows={} keys={} d={}", rows, m, d),
              4.0 * double(d * rows * m), Limit::kFmaOneThread, "",
              [&] {
                state.Reset(queries);
                AttendBlock(queries, block, nullptr, state);
              });
    }
  }

  // Joint-softmax combiner over many partial results, one thread.
  void MergeLse() {
    if (!Wanted("merge-lse")) return;
    const size_t parts = options.quick ? 512 : 16384, rows = 8, d = 128;
    Buffer outs(parts * rows * d, DType::kF32, 6), lses(parts * rows, DType::kF32, 7);
    std::vector<float> out(rows * d), lse(rows);
    Measure("merge-lse", DType::kF32, fmt::format("parts={} rows={} d={}", parts, rows, d),
            double(parts * rows * (d + 1) * 4), Limit::kReadOneThread, "",
            [&] { MergeByLse(outs.f32(), lses.f32(), parts, rows, d, out.data(), lse.data()); });
  }

  // Dense decode: memory bound; all threads.
  void DenseDecode() {
    if (!Wanted("dense-decode")) return;
    const size_t n = options.decode_tokens ? options.decode_tokens : options.quick ? 1 << 15 : 1 << 20;
    const size_t q_heads = 8, kv_heads = 2, d = 128;
    Buffer q(q_heads * d, DType::kF32, 8);
    std::vector<float> out(q_heads * d);
    for (DType dtype : {DType::kF16, DType::kBF16, DType::kF32}) {
      Buffer k(n * kv_heads * d, dtype, 9), v(n * kv_heads * d, dtype, 10);
      const KVSequence kv = KVSequence::TokenMajor(k.data(), v.data(), dtype, n, kv_heads, d);
      Measure("dense-decode", dtype, fmt::format("n={} Hq={} Hkv={} d={}", n, q_heads, kv_heads, d),
              double(2 * n * kv_heads * d * SizeOf(dtype)), Limit::kReadAllThreads,
              dtype == DType::kF16 ? ">= 0.70" : "",
              [&] { landmark::DenseDecode(q.f32(), q_heads, kv, out.data()); });
    }
  }

  // Dense causal prefill: compute bound; all threads.
  void CausalPrefill() {
    if (!Wanted("causal-prefill")) return;
    const size_t L = options.prefill_tokens ? options.prefill_tokens : options.quick ? 256 : 4096;
    const size_t q_heads = 8, kv_heads = 2, d = 128;
    Buffer q(L * q_heads * d, DType::kF32, 11);
    std::vector<float> out(L * q_heads * d);
    const double flops = 4.0 * double(d) * double(q_heads) * double(L) * double(L + 1) / 2;
    for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
      Buffer k(L * kv_heads * d, dtype, 12), v(L * kv_heads * d, dtype, 13);
      const KVSequence kv = KVSequence::TokenMajor(k.data(), v.data(), dtype, L, kv_heads, d);
      Measure("causal-prefill", dtype, fmt::format("L={} Hq={} Hkv={} d={}", L, q_heads, kv_heads, d),
              flops, Limit::kFmaAllThreads, dtype == DType::kF32 ? ">= 0.50" : "",
              [&] { landmark::CausalPrefill(q.f32(), q_heads, kv, out.data()); });
    }
  }
};

}  // namespace

std::vector<BenchResult> BenchKernels(const KernelBenchOptions& options,
                                      const std::function<void(const std::string&)>& progress) {
  Suite suite{options, progress, {}};
  suite.BatchedDot();
  suite.BatchedDotHeads();
  suite.AttendBlockTile();
  suite.MergeLse();
  suite.DenseDecode();
  suite.CausalPrefill();
  return std::move(suite.results);
}

}  // namespace landmark::perf
