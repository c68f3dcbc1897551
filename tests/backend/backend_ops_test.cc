// Every CUDA result against the CPU backend on the same inputs (the
// harness and its tolerances: tests/backend/README.md). Exits 77 (ctest:
// skipped) when the CUDA backend is unavailable, saying why.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "landmark/device.h"
#include "landmark/prefill.h"
#include "landmark/retriever.h"
#include "landmark/store.h"
#include "tests/temp_dir.h"

namespace landmark::test {
namespace {

constexpr double kOutNmse = 1e-9, kLseAbs = 1e-4, kWeightAbs = 1e-5, kScoreRel = 1e-6;
// The bf16 tensor-core prefill: Q, K, V and P rounded to bf16 (2^-9 relative each).
constexpr double kTensorOutNmse = 2e-4, kTensorLseAbs = 2e-2;

// Values on the grid of multiples of 1/4 in [-2, 2]: sums of products stay
// exact in f32 (see README.md), so landmark scores do not depend on order.
std::vector<float> Grid(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> step(-8, 8);
  std::vector<float> x(n);
  for (float& v : x) v = float(step(rng)) / 4.0f;
  return x;
}

std::vector<float> Normal(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  return x;
}

// x as dtype: x itself (f32), or rounded into `bits` (f16, bf16).
const void* Stored(DType dtype, const std::vector<float>& x, std::vector<uint16_t>& bits) {
  if (dtype == DType::kF32) return x.data();
  bits.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) bits[i] = dtype == DType::kF16 ? ToF16(x[i]).bits : ToBF16(x[i]).bits;
  return bits.data();
}

// Σ(a−b)² / Σb² (0 when both are zero).
double Nmse(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double err = 0, ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    err += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    ref += double(b[i]) * b[i];
  }
  return ref == 0 ? err : err / ref;
}

double MaxAbs(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isinf(a[i]) || std::isinf(b[i])) {
      CHECK(a[i] == b[i]);
      continue;
    }
    worst = std::max(worst, std::abs(double(a[i]) - b[i]));
  }
  return worst;
}

void CompareResults(const RetrievalResult& gpu, const RetrievalResult& cpu) {
  CHECK(gpu.position == cpu.position);
  CHECK(gpu.candidates == cpu.candidates);
  CHECK(gpu.local_tokens == cpu.local_tokens);
  CHECK(gpu.bytes_touched == cpu.bytes_touched);
  REQUIRE(gpu.selections.size() == cpu.selections.size());
  for (size_t h = 0; h < cpu.selections.size(); ++h) {
    CAPTURE(h);
    REQUIRE(gpu.selections[h].chunks == cpu.selections[h].chunks);
    for (size_t i = 0; i < cpu.selections[h].scores.size(); ++i) {
      const double s = cpu.selections[h].scores[i];
      CHECK(std::abs(gpu.selections[h].scores[i] - s) <= kScoreRel * std::max(1.0, std::abs(s)));
    }
    CHECK(MaxAbs(gpu.selections[h].weights, cpu.selections[h].weights) <= kWeightAbs);
  }
  CHECK(Nmse(gpu.out, cpu.out) <= kOutNmse);
  CHECK(MaxAbs(gpu.lse, cpu.lse) <= kLseAbs);
  CHECK(Nmse(gpu.local_out, cpu.local_out) <= kOutNmse);
  CHECK(MaxAbs(gpu.local_lse, cpu.local_lse) <= kLseAbs);
}

struct StoreCase {
  DType dtype = DType::kF16;
  LandmarkKind landmark = LandmarkKind::kMean;
  size_t landmark_heads = 0, landmark_dim = 0;  // learned
  size_t S = 16, H = 2, d = 64, tokens = 16 * 50 + 7;
};

void BuildStore(const std::string& dir, const StoreCase& c) {
  StoreOptions o;
  o.shape = {c.S, c.H, c.d, c.dtype, c.landmark, c.landmark_heads, c.landmark_dim};
  StoreWriter writer = StoreWriter::Create(dir, o);
  const std::vector<float> k = Grid(c.tokens * c.H * c.d, 11), v = Normal(c.tokens * c.H * c.d, 12);
  TokenBatch batch;
  batch.tokens = c.tokens;
  batch.keys = k.data();
  batch.values = v.data();
  std::vector<float> l;
  if (c.landmark == LandmarkKind::kLearned) {
    l = Grid((c.tokens / c.S) * c.landmark_heads * c.landmark_dim, 13);
    batch.landmarks = l.data();
    batch.landmark_chunks = c.tokens / c.S;
  }
  if (c.tokens > 0) writer.Append(batch);
  writer.Close();
}

// Queries [M][H_q][d] and, for learned landmarks, r [M][LH][R], on the grid.
void RunDecode(const StoreCase& sc, RetrieverConfig config, size_t M, const std::vector<size_t>& positions) {
  TempStoreDir dir("backend-decode");
  BuildStore(dir.str(), sc);
  const StoreReader store = StoreReader::Open(dir.str());
  const size_t q_heads = config.q_heads ? config.q_heads : sc.H;
  const std::vector<float> q = Grid(M * q_heads * sc.d, 21);
  const size_t LH = store.shape().landmark_heads, R = store.shape().landmark_dim;
  const std::vector<float> r = sc.landmark == LandmarkKind::kLearned ? Grid(M * LH * R, 22) : std::vector<float>();
  std::vector<RetrievalQuery> queries(M);
  for (size_t i = 0; i < M; ++i) {
    queries[i].q = q.data() + i * q_heads * sc.d;
    queries[i].r = r.empty() ? nullptr : r.data() + i * LH * R;
    if (!positions.empty()) queries[i].position = positions[i % positions.size()];
  }
  for (GpuKv placement : {GpuKv::kStream, GpuKv::kResident}) {
    CAPTURE(Name(placement));
    config.device = Device::kCpu;
    const Retriever cpu(store, config);
    config.device = Device::kCuda;
    config.gpu_kv = placement;
    const Retriever gpu(store, config);
    REQUIRE(gpu.device() == Device::kCuda);
    CHECK(gpu.kv_on_gpu() == (placement == GpuKv::kResident));
    if (M == 1) {
      CompareResults(gpu.Query(queries[0]), cpu.Query(queries[0]));
      continue;
    }
    const std::vector<RetrievalResult> a = gpu.QueryBatch(queries), b = cpu.QueryBatch(queries);
    for (size_t i = 0; i < M; ++i) {
      CAPTURE(i);
      CompareResults(a[i], b[i]);
    }
  }
}

TEST_CASE("decode: every dtype, landmark kind and fusion, GPU vs CPU") {
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (LandmarkKind kind : {LandmarkKind::kMean, LandmarkKind::kMinMax, LandmarkKind::kLearned}) {
      for (int fusion = 0; fusion < 3; ++fusion) {
        CAPTURE(Name(dtype));
        CAPTURE(Name(kind));
        CAPTURE(fusion);
        StoreCase sc;
        sc.dtype = dtype;
        sc.landmark = kind;
        if (kind == LandmarkKind::kLearned) {
          sc.landmark_heads = sc.H;
          sc.landmark_dim = 24;
        }
        RetrieverConfig c;
        c.q_heads = 8;
        c.top_k = 6;
        c.fusion = fusion == 0 ? Fusion::kJoint : Fusion::kHsa;
        c.weights = fusion == 2 ? RetrievalWeights::kStickBreaking : RetrievalWeights::kSoftmax;
        c.window = 40;
        RunDecode(sc, c, 1, {});
      }
    }
  }
}

TEST_CASE("decode: sinks, softmax-off-by-one, k beyond the candidates, GQA 1..4") {
  StoreCase sc;
  for (size_t group : {1, 4}) {
    for (size_t k : {1, 3, 64}) {
      CAPTURE(group);
      CAPTURE(k);
      RetrieverConfig c;
      c.q_heads = sc.H * group;
      c.top_k = k;
      c.sink_chunks = 2;
      c.window = 17;
      c.softmax_off_by_one = true;
      RunDecode(sc, c, 1, {});
    }
  }
}

TEST_CASE("decode: one shared landmark head selects for every kv head") {
  StoreCase sc;
  sc.landmark = LandmarkKind::kLearned;
  sc.landmark_heads = 1;
  sc.landmark_dim = 32;
  RetrieverConfig c;
  c.q_heads = 4;
  c.top_k = 5;
  c.fusion = Fusion::kHsa;
  c.weights = RetrievalWeights::kStickBreaking;
  RunDecode(sc, c, 1, {});
}

TEST_CASE("decode: batches of queries at many positions (near the start, inside the tail, the end)") {
  for (LandmarkKind kind : {LandmarkKind::kMean, LandmarkKind::kMinMax}) {
    CAPTURE(Name(kind));
    StoreCase sc;
    sc.landmark = kind;
    for (int fusion = 0; fusion < 2; ++fusion) {
      RetrieverConfig c;
      c.q_heads = 8;
      c.top_k = 4;
      c.fusion = fusion ? Fusion::kHsa : Fusion::kJoint;
      c.window = 20;
      c.batch_gemm_min = 4;
      RunDecode(sc, c, 12, {0, 5, 15, 16, 17, 100, 333, 640, 700, 800, 805, 806});
    }
  }
}

TEST_CASE("decode: a larger store, many candidates per top-k block") {
  StoreCase sc;
  sc.S = 64;
  sc.H = 1;
  sc.d = 128;
  sc.tokens = 64 * 3000 + 3;
  RetrieverConfig c;
  c.q_heads = 4;
  c.top_k = 64;
  RunDecode(sc, c, 3, {});
}

TEST_CASE("decode: more candidates than one top-k tile (4096), with many ties on the grid") {
  StoreCase sc;
  sc.S = 16;
  sc.H = 2;
  sc.d = 32;
  sc.tokens = 16 * 20000 + 5;
  RetrieverConfig c;
  c.q_heads = 8;
  c.top_k = 100;
  RunDecode(sc, c, 3, {});
  c.top_k = 4096 + 7;  // more than one tile keeps
  c.fusion = Fusion::kHsa;
  RunDecode(sc, c, 1, {});
}

TEST_CASE("decode: an empty store and a store of only a tail") {
  for (size_t tokens : {0, 9}) {
    CAPTURE(tokens);
    StoreCase sc;
    sc.tokens = tokens;
    RetrieverConfig c;
    c.top_k = 4;
    RunDecode(sc, c, 1, {});
  }
}

// ----------------------------------------------------------------- prefill

// `o` on the CPU and on the GPU (o's GPU settings ignored on the CPU): the
// same mask, outputs within the f32 tolerances, or the bf16 ones with
// gpu_tensor_cores.
void PrefillOnBoth(const std::vector<float>& q, size_t q_heads, const KVSequence& kv, SparsePrefillOptions o) {
  const size_t L = kv.tokens, d = kv.d;
  std::vector<float> out_cpu(L * q_heads * d), out_gpu(out_cpu.size()), lse_cpu(L * q_heads), lse_gpu(L * q_heads);
  o.device = Device::kCpu;
  const SparsePrefillResult a = SparsePrefill(q.data(), q_heads, kv, out_cpu.data(), lse_cpu.data(), o);
  o.device = Device::kCuda;
  const SparsePrefillResult b = SparsePrefill(q.data(), q_heads, kv, out_gpu.data(), lse_gpu.data(), o);
  CHECK(b.device == Device::kCuda);
  CHECK(b.mask.blocks == a.mask.blocks);
  CHECK(b.mask.heads == a.mask.heads);
  CHECK(a.mask.bits == b.mask.bits);
  CHECK(Nmse(out_gpu, out_cpu) <= (o.gpu_tensor_cores ? kTensorOutNmse : kOutNmse));
  CHECK(MaxAbs(lse_gpu, lse_cpu) <= (o.gpu_tensor_cores ? kTensorLseAbs : kLseAbs));
}

void RunPrefill(PrefillPolicy policy, DType dtype, size_t L, size_t q_heads, size_t kv_heads, size_t d, size_t block,
                bool tensor_cores = false) {
  CAPTURE(tensor_cores);
  CAPTURE(Name(policy));
  CAPTURE(Name(dtype));
  CAPTURE(L);
  CAPTURE(q_heads);
  CAPTURE(kv_heads);
  CAPTURE(d);
  CAPTURE(block);
  const std::vector<float> q = Normal(L * q_heads * d, 31), k32 = Normal(L * kv_heads * d, 32),
                           v32 = Normal(L * kv_heads * d, 33);
  std::vector<uint16_t> k16, v16;
  const void* k = Stored(dtype, k32, k16);
  const void* v = Stored(dtype, v32, v16);
  const KVSequence kv = KVSequence::TokenMajor(k, v, dtype, L, kv_heads, d);
  SparsePrefillOptions o;
  o.policy = policy;
  o.block = block;
  o.dma.sparsity = 0.7;
  o.gpu_tensor_cores = tensor_cores;
  PrefillOnBoth(q, q_heads, kv, o);
}

TEST_CASE("prefill: dense, flashprefill and dma masks, GPU kernel vs CPU kernel") {
  for (PrefillPolicy policy : {PrefillPolicy::kDense, PrefillPolicy::kFlashPrefill, PrefillPolicy::kDma}) {
    for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
      RunPrefill(policy, dtype, 1000, 4, 2, 64, 64);
    }
    RunPrefill(policy, DType::kF32, 1, 2, 2, 32, 64);
    RunPrefill(policy, DType::kF32, 64, 4, 1, 128, 64);
    RunPrefill(policy, DType::kF16, 777, 4, 1, 128, 32);   // blocks smaller than the GPU tile
    RunPrefill(policy, DType::kF32, 700, 2, 1, 48, 128);   // blocks larger than the tile, d not a multiple of 16
    RunPrefill(policy, DType::kBF16, 4096, 4, 1, 128, 64);
    RunPrefill(policy, DType::kF32, 300, 3, 3, 256, 16);
  }
}

// FlashPrefill's mask found on the GPU (gpu_mask) against the CPU's: Q and K
// on the grid and whole blocks of 2^k tokens, so that the block means and
// the pooled logits are exact in f32 (at most 22 significant bits for these
// shapes) and the masks must agree bit for bit, ties included; then the
// attention with that mask against the CPU's, within the f32 tolerances.
void RunGpuMask(DType dtype, size_t L, size_t q_heads, size_t kv_heads, size_t d, size_t block, bool alpha) {
  CAPTURE(Name(dtype));
  CAPTURE(L);
  CAPTURE(q_heads);
  CAPTURE(kv_heads);
  CAPTURE(d);
  CAPTURE(block);
  CAPTURE(alpha);
  const std::vector<float> q = Grid(L * q_heads * d, 41), k32 = Grid(L * kv_heads * d, 42),
                           v32 = Normal(L * kv_heads * d, 43);
  std::vector<uint16_t> k16, v16;  // the grid is exact in f16 and bf16
  const void* k = Stored(dtype, k32, k16);
  const void* v = Stored(dtype, v32, v16);
  const KVSequence kv = KVSequence::TokenMajor(k, v, dtype, L, kv_heads, d);
  SparsePrefillOptions o;
  o.policy = PrefillPolicy::kFlashPrefill;
  o.block = block;
  if (alpha) {
    o.flashprefill.threshold = FlashPrefillOptions::Threshold::kAlpha;
    o.flashprefill.alpha = 0.5f;
  } else {
    o.flashprefill.delta = 1.0f;
  }
  o.flashprefill.vertical_fraction = 0.1;
  o.flashprefill.slash_count = 3;
  o.gpu_mask = true;
  PrefillOnBoth(q, q_heads, kv, o);
}

TEST_CASE("prefill: the FlashPrefill mask found on the GPU is the CPU's") {
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (bool alpha : {false, true}) RunGpuMask(dtype, 1024, 4, 2, 64, 16, alpha);
  }
  RunGpuMask(DType::kF32, 4096, 2, 1, 64, 32, false);   // 128 blocks
  RunGpuMask(DType::kF32, 4096, 2, 1, 64, 32, true);
  RunGpuMask(DType::kF32, 512, 3, 1, 16, 16, true);     // G 3, d 16
  RunGpuMask(DType::kBF16, 1024, 4, 1, 256, 16, false); // d 256
  RunGpuMask(DType::kF32, 48, 2, 1, 64, 16, false);     // 3 blocks: one candidate
  RunGpuMask(DType::kF32, 32, 2, 1, 64, 16, false);     // 2 blocks: no columns or diagonals
  RunGpuMask(DType::kF32, 16, 2, 1, 64, 16, true);      // 1 block
}

TEST_CASE("prefill: the bf16 tensor-core kernel vs the CPU kernel (bf16 tolerances)") {
  for (PrefillPolicy policy : {PrefillPolicy::kDense, PrefillPolicy::kFlashPrefill, PrefillPolicy::kDma}) {
    for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
      RunPrefill(policy, dtype, 1000, 4, 2, 64, 64, true);
    }
    RunPrefill(policy, DType::kF32, 1, 2, 2, 64, 64, true);
    RunPrefill(policy, DType::kF32, 64, 4, 1, 128, 64, true);
    RunPrefill(policy, DType::kF16, 777, 4, 1, 128, 32, true);   // blocks smaller than the tile
    RunPrefill(policy, DType::kF32, 700, 2, 1, 128, 128, true);  // blocks larger than the tile
    RunPrefill(policy, DType::kBF16, 4096, 4, 1, 128, 64, true);
  }
}

}  // namespace
}  // namespace landmark::test

int main(int argc, char** argv) {
  const landmark::DeviceReport& devices = landmark::Devices();
  if (devices.auto_choice != landmark::Device::kCuda) {
    std::printf("SKIPPED: CUDA vs CPU backend tests: CUDA is unavailable (%s)\n", devices.cuda_status.c_str());
    return 77;
  }
  std::printf("%s", devices.ToText().c_str());
  doctest::Context context(argc, argv);
  return context.run();
}
