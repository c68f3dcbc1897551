// StoreAttention against the double-precision reference
// (tests/reference/llm_attention_reference.cc): sinks, top-k chunks chosen by
// landmarks, the shifted position frame, the local window and the pending
// tokens; and, with every candidate selected, dense causal attention exactly.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "landmark/error.h"
#include "landmark/store.h"
#include "src/llm/rope.h"
#include "src/llm/store_attention.h"
#include "tests/reference/llm_attention_reference.h"
#include "tests/temp_dir.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

using llm::AttentionShape;
using llm::Rope;
using llm::StoreAttention;
using llm::StoreAttentionOptions;

struct Case {
  size_t layers = 2, q_heads = 4, kv_heads = 2, d = 16, S = 8, n = 0;
  DType dtype = DType::kF32;
  LandmarkKind landmark = LandmarkKind::kMean;
  StoreAttentionOptions options;
  std::vector<size_t> calls;  // new tokens per forward pass
  uint64_t seed = 1;
};

std::vector<float> InvFreq(size_t d, double theta = 10000.0) {
  std::vector<float> f(d / 2);
  for (size_t i = 0; i < d / 2; ++i) f[i] = float(1.0 / std::pow(theta, double(2 * i) / double(d)));
  return f;
}

// Values as the store keeps them (rounded to its dtype), in double.
std::vector<double> AsStored(const std::vector<float>& x, DType dtype) {
  std::vector<double> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    out[i] = dtype == DType::kF16 ? ToF32(ToF16(x[i])) : dtype == DType::kBF16 ? ToF32(ToBF16(x[i])) : x[i];
  }
  return out;
}

double MaxRelativeError(const std::vector<float>& got, const std::vector<double>& want) {
  double err = 0;
  for (size_t i = 0; i < got.size(); ++i) err = std::max(err, std::abs(got[i] - want[i]) / std::max(1.0, std::abs(want[i])));
  return err;
}

// Builds the store, runs the calls through StoreAttention and checks every
// layer of every call against the reference; `dense` also checks against
// causal attention over the whole sequence at true positions.
void Check(const Case& c, bool dense = false) {
  CAPTURE(c.n);
  CAPTURE(c.options.top_k);
  CAPTURE(c.options.window);
  CAPTURE(c.options.sink_chunks);
  CAPTURE(c.options.true_positions);
  CAPTURE(c.options.select_block);
  const size_t heads = c.layers * c.kv_heads, d = c.d;
  size_t after = 0;
  for (size_t t : c.calls) after += t;
  const std::vector<float> stored_k = test::RandomNormal(c.n * heads * d, c.seed);
  const std::vector<float> stored_v = test::RandomNormal(c.n * heads * d, c.seed + 1);
  const std::vector<float> after_k = test::RandomNormal(after * heads * d, c.seed + 2);
  const std::vector<float> after_v = test::RandomNormal(after * heads * d, c.seed + 3);
  const std::vector<float> q = test::RandomNormal(c.layers * after * c.q_heads * d, c.seed + 4);  // [layer][t][Hq][d]

  test::TempStoreDir dir("llm-attention");
  std::unique_ptr<StoreReader> reader;
  if (c.n > 0) {
    StoreOptions o;
    o.shape.chunk_size = c.S;
    o.shape.kv_heads = heads;
    o.shape.head_dim = d;
    o.shape.dtype = c.dtype;
    o.shape.landmark = c.landmark;
    StoreWriter w = StoreWriter::Create(dir.str(), o);
    TokenBatch b;
    b.tokens = c.n;
    b.keys = stored_k.data();
    b.values = stored_v.data();
    w.Append(b);
    w.Close();
    reader = std::make_unique<StoreReader>(StoreReader::Open(dir.str()));
  }
  const std::vector<float> inv = InvFreq(d);
  Rope rope(inv);
  StoreAttention attention(reader.get(), AttentionShape{c.layers, c.q_heads, c.kv_heads, d}, rope, c.options);
  std::vector<std::vector<std::vector<size_t>>> selections;  // of the layer under check
  size_t checking_layer = 0;
  attention.on_select = [&](size_t layer, size_t h, const std::vector<ScoredChunk>& chosen) {
    if (layer != checking_layer) return;
    std::vector<size_t> ids;
    for (const ScoredChunk& s : chosen) ids.push_back(s.chunk);
    if (h == 0) selections.emplace_back();
    selections.back().push_back(ids);
  };

  reference::LlmAttentionSpec spec;
  spec.layers = c.layers;
  spec.q_heads = c.q_heads;
  spec.kv_heads = c.kv_heads;
  spec.d = d;
  spec.S = c.S;
  spec.window = c.options.window;
  spec.sinks = c.options.sink_chunks;
  spec.top_k = c.options.top_k;
  spec.select_block = c.options.select_block;
  spec.true_positions = c.options.true_positions;
  spec.minmax = c.landmark == LandmarkKind::kMinMax;
  spec.inv_freq.assign(inv.begin(), inv.end());
  const std::vector<double> sk = AsStored(stored_k, c.dtype), sv = AsStored(stored_v, c.dtype);
  const std::vector<double> ak(after_k.begin(), after_k.end()), av(after_v.begin(), after_v.end());

  size_t P = 0;
  for (size_t T : c.calls) {
    CAPTURE(P);
    CAPTURE(T);
    for (size_t layer = 0; layer < c.layers; ++layer) {
      CAPTURE(layer);
      std::vector<float> k(T * c.kv_heads * d), v(T * c.kv_heads * d), out(T * c.q_heads * d);
      for (size_t t = 0; t < T; ++t) {
        const size_t src = ((P + t) * heads + layer * c.kv_heads) * d;
        std::copy_n(&after_k[src], c.kv_heads * d, &k[t * c.kv_heads * d]);
        std::copy_n(&after_v[src], c.kv_heads * d, &v[t * c.kv_heads * d]);
      }
      const float* ql = &q[(layer * after + P) * c.q_heads * d];
      checking_layer = layer;
      selections.clear();
      attention.Attend(layer, c.n + P, ql, k.data(), v.data(), T, out.data());

      spec.layer = layer;
      const std::vector<double> qd(ql, ql + T * c.q_heads * d);
      const reference::LlmAttentionOutput want =
          reference::LlmRetrievalAttention(sk, sv, c.n, ak, av, P, T, qd, spec);
      CHECK(MaxRelativeError(out, want.out) < 2e-5);
      if (attention.selected_per_head() > 0) {
        REQUIRE(selections.size() == want.selected.size());
        for (size_t b = 0; b < selections.size(); ++b) CHECK(selections[b] == want.selected[b]);
      }
      if (dense) {
        // The whole sequence of this layer: stored, then after.
        const size_t N = c.n + P + T;
        std::vector<double> K(N * c.kv_heads * d), V(N * c.kv_heads * d);
        for (size_t t = 0; t < N; ++t) {
          const bool in_store = t < c.n;
          const std::vector<double>& srck = in_store ? sk : ak;
          const std::vector<double>& srcv = in_store ? sv : av;
          const size_t row = in_store ? t : t - c.n;
          std::copy_n(&srck[(row * heads + layer * c.kv_heads) * d], c.kv_heads * d, &K[t * c.kv_heads * d]);
          std::copy_n(&srcv[(row * heads + layer * c.kv_heads) * d], c.kv_heads * d, &V[t * c.kv_heads * d]);
        }
        const std::vector<double> exact =
            reference::DenseRopeAttention(K, V, N, qd, T, c.q_heads, c.kv_heads, d, spec.inv_freq);
        CHECK(MaxRelativeError(out, exact) < 2e-5);
      }
    }
    P += T;
  }
  CHECK(attention.pending_tokens() == P);
}

StoreAttentionOptions Options(size_t top_k, size_t window, size_t sinks, size_t select_block = 128) {
  StoreAttentionOptions o;
  o.top_k = top_k;
  o.window = window;
  o.sink_chunks = sinks;
  o.select_block = select_block;
  o.segment.policy = PrefillPolicy::kDense;
  return o;
}

TEST_CASE("store attention: every candidate selected is dense causal attention at true positions") {
  for (size_t n : {size_t(1), size_t(8), size_t(61), size_t(200)}) {
    for (size_t window : {size_t(0), size_t(16), size_t(300)}) {
      Case c;
      c.n = n;
      c.options = Options(1000, window, 1);
      c.calls = {5, 1, 1, 3};
      Check(c, /*dense=*/true);
    }
  }
}

TEST_CASE("store attention: top-k of many chunks, the shifted frame") {
  for (size_t top_k : {size_t(0), size_t(1), size_t(3)}) {
    for (size_t sinks : {size_t(0), size_t(1), size_t(2)}) {
      Case c;
      c.n = 203;  // 25 chunks and a tail of 3
      c.options = Options(top_k, 20, sinks);
      c.calls = {7, 1, 1};
      Check(c);
    }
  }
}

TEST_CASE("store attention: true positions with a partial selection") {
  Case c;
  c.n = 160;
  c.options = Options(2, 8, 1);
  c.options.true_positions = true;
  c.calls = {4, 1};
  Check(c);
}

TEST_CASE("store attention: one selection per block of new tokens") {
  Case c;
  c.n = 256;
  c.options = Options(2, 16, 1, /*select_block=*/3);
  c.calls = {10, 2};
  Check(c);
}

TEST_CASE("store attention: minmax landmarks, f16 and bf16 stores, GQA shapes") {
  for (DType dtype : test::kAllDTypes) {
    Case c;
    c.dtype = dtype;
    c.landmark = LandmarkKind::kMinMax;
    c.n = 130;
    c.q_heads = 6;
    c.kv_heads = 2;
    c.layers = 3;
    c.d = 8;
    c.options = Options(3, 10, 1);
    c.calls = {6, 1};
    Check(c);
  }
}

TEST_CASE("store attention: no store yet is causal attention over the new tokens") {
  Case c;
  c.n = 0;
  c.options = Options(4, 0, 1);
  c.calls = {9, 1, 4};
  Check(c, /*dense=*/true);
}

TEST_CASE("store attention: a segment through the block-sparse kernel, on every Highway target") {
  test::ForEachTarget([] {
    Case c;
    c.n = 100;
    c.options = Options(2, 16, 1, 32);
    c.options.segment.block = 16;  // several blocks: the dense mask on the tiled kernel
    c.calls = {70};
    Check(c);
  });
}

TEST_CASE("store attention: the frame stays inside the trained positions") {
  Case c;
  test::TempStoreDir dir("llm-frame");
  StoreOptions o;
  o.shape.chunk_size = 8;
  o.shape.kv_heads = 2;
  o.shape.head_dim = 8;
  o.shape.dtype = DType::kF32;
  StoreWriter w = StoreWriter::Create(dir.str(), o);
  const std::vector<float> kv = test::RandomNormal(8000 * 2 * 8, 3);
  TokenBatch b;
  b.tokens = 8000;
  b.keys = kv.data();
  b.values = kv.data();
  w.Append(b);
  w.Close();
  const StoreReader reader = StoreReader::Open(dir.str());
  Rope rope(InvFreq(8));
  StoreAttention attention(&reader, AttentionShape{1, 2, 2, 8}, rope, Options(4, 64, 1));
  // 1 sink chunk + 4 chosen chunks + the local window of 64: the next token's position.
  CHECK(attention.next_frame_position() == 8 + 4 * 8 + 64);
  CHECK(attention.candidates() == 992 - 1);
}

TEST_CASE("store attention: misuse is an error") {
  Rope rope(InvFreq(8));
  StoreAttention attention(nullptr, AttentionShape{1, 2, 1, 8}, rope, Options(1, 0, 0));
  std::vector<float> x(2 * 8);
  CHECK_THROWS_AS(attention.Attend(0, 5, x.data(), x.data(), x.data(), 1, x.data()), Error);  // not at 0
  CHECK_THROWS_AS(attention.Attend(1, 0, x.data(), x.data(), x.data(), 1, x.data()), Error);  // layer 1 of 1
  CHECK_THROWS_AS(StoreAttention(nullptr, AttentionShape{1, 3, 2, 8}, rope, Options(1, 0, 0)), Error);
  CHECK_THROWS_AS(StoreAttention(nullptr, AttentionShape{1, 2, 2, 16}, rope, Options(1, 0, 0)), Error);
}

}  // namespace
}  // namespace landmark
