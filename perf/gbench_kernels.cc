// Google Benchmark binary for the kernels (profiling, A/B comparisons):
//   build/bin/bench_kernels_gbench --benchmark_filter=Decode
// `landmark bench kernels` reports the same kernels against machine limits.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "src/kernels/dense_attention.h"
#include "src/kernels/kernels.h"

namespace landmark {
namespace {

std::vector<uint16_t> RandomBits(size_t n, DType dtype, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) v = uniform(rng);
  std::vector<uint16_t> out(n * SizeOf(dtype) / 2);
  ConvertFromF32(x.data(), n, dtype, out.data());
  return out;
}

DType DTypeArg(int64_t i) { return static_cast<DType>(i); }

void BM_BatchedDot(benchmark::State& state) {
  const DType dtype = DTypeArg(state.range(0));
  const size_t n = size_t(state.range(1)), d = 128;
  const auto rows = RandomBits(n * d, dtype, 1);
  std::vector<float> q(d, 0.5f), out(n);
  for (auto _ : state) {
    BatchedDot(q.data(), rows.data(), dtype, n, d, d, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations() * n * d * SizeOf(dtype)));
  state.SetLabel(Name(dtype));
}
BENCHMARK(BM_BatchedDot)->ArgsProduct({{0, 1, 2}, {1 << 12, 1 << 18}});

void BM_AttendBlock(benchmark::State& state) {
  const DType dtype = DTypeArg(state.range(0));
  const size_t rows = size_t(state.range(1)), m = 1024, d = 128;
  const auto k = RandomBits(m * d, dtype, 2), v = RandomBits(m * d, dtype, 3);
  std::vector<float> q(rows * d, 0.01f);
  QueryBlock queries;
  queries.Prepare(q.data(), rows, 1, d, d, 1.0f / std::sqrt(float(d)));
  SoftmaxAccumulator acc;
  const KVBlock block{k.data(), v.data(), dtype, m, d, d};
  for (auto _ : state) {
    acc.Reset(queries);
    AttendBlock(queries, block, nullptr, acc);
    benchmark::DoNotOptimize(acc.acc());
  }
  state.counters["FLOPS"] = benchmark::Counter(4.0 * double(rows * m * d) * double(state.iterations()),
                                               benchmark::Counter::kIsRate);
  state.SetLabel(Name(dtype));
}
BENCHMARK(BM_AttendBlock)->ArgsProduct({{0, 1, 2}, {1, 4, 8, 64, 256}});

void BM_DenseDecode(benchmark::State& state) {
  const DType dtype = DTypeArg(state.range(0));
  const size_t n = size_t(state.range(1)), q_heads = 8, kv_heads = 2, d = 128;
  const auto k = RandomBits(n * kv_heads * d, dtype, 4), v = RandomBits(n * kv_heads * d, dtype, 5);
  std::vector<float> q(q_heads * d, 0.01f), out(q_heads * d);
  const KVSequence kv = KVSequence::TokenMajor(k.data(), v.data(), dtype, n, kv_heads, d);
  for (auto _ : state) DenseDecode(q.data(), q_heads, kv, out.data());
  state.SetBytesProcessed(int64_t(state.iterations() * 2 * n * kv_heads * d * SizeOf(dtype)));
  state.SetLabel(Name(dtype));
}
BENCHMARK(BM_DenseDecode)->ArgsProduct({{0, 1, 2}, {1 << 16, 1 << 20}})->UseRealTime();

void BM_CausalPrefill(benchmark::State& state) {
  const DType dtype = DTypeArg(state.range(0));
  const size_t L = size_t(state.range(1)), q_heads = 8, kv_heads = 2, d = 128;
  const auto k = RandomBits(L * kv_heads * d, dtype, 6), v = RandomBits(L * kv_heads * d, dtype, 7);
  std::vector<float> q(L * q_heads * d, 0.01f), out(L * q_heads * d);
  const KVSequence kv = KVSequence::TokenMajor(k.data(), v.data(), dtype, L, kv_heads, d);
  for (auto _ : state) CausalPrefill(q.data(), q_heads, kv, out.data());
  state.counters["FLOPS"] = benchmark::Counter(
      4.0 * d * q_heads * double(L) * double(L + 1) / 2 * double(state.iterations()),
      benchmark::Counter::kIsRate);
  state.SetLabel(Name(dtype));
}
BENCHMARK(BM_CausalPrefill)->ArgsProduct({{0, 1}, {1024, 4096}})->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace landmark

BENCHMARK_MAIN();
