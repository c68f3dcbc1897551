// The retrieval engine against the double-precision reference: fusion
// modes × landmark kinds × dtypes × GQA groups × k × positions and windows;
// joint = dense; batched = one by one; edge cases and bad queries.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>

#include "landmark/error.h"
#include "landmark/retriever.h"
#include "src/attention/dense_over_store.h"
#include "tests/reference/attention_reference.h"
#include "tests/reference/retrieval_reference.h"
#include "tests/store/store_test_util.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

struct StoreCase {
  DType dtype = DType::kF32;
  LandmarkKind kind = LandmarkKind::kMean;
  size_t n = 203, S = 16, H = 2, d = 32, LH = 2, R = 24;  // LH/R: learned only
  uint64_t seed = 1;
  size_t segment_chunks = 0;  // > 0: kv segments of this many chunks
};

// A store of random K/V and its contents read back as doubles.
struct Fixture {
  test::TempStoreDir dir{"retriever"};
  StoreCase c;
  std::vector<double> K, V, landmarks;
  size_t LH = 0, R = 0;

  explicit Fixture(const StoreCase& sc) : c(sc) {
    StoreOptions o;
    o.shape = {c.S, c.H, c.d, c.dtype, c.kind, c.kind == LandmarkKind::kLearned ? c.LH : 0,
               c.kind == LandmarkKind::kLearned ? c.R : 0};
    o.commit_every = 5;
    if (c.segment_chunks) o.segment_bytes = c.segment_chunks * c.H * o.shape.record_bytes();
    auto keys = test::RandomNormal(c.n * c.H * c.d, c.seed), values = test::RandomNormal(c.n * c.H * c.d, c.seed + 1);
    for (size_t i = 0; i < keys.size(); ++i) keys[i] += 0.6f * std::sin(float(i / (c.H * c.d * c.S)));  // chunk structure
    std::vector<float> learned = test::RandomNormal((c.n / c.S) * c.LH * c.R, c.seed + 2);
    {
      StoreWriter writer = StoreWriter::Create(dir.str(), o);
      TokenBatch b;
      b.tokens = c.n;
      b.keys = keys.data();
      b.values = values.data();
      if (c.kind == LandmarkKind::kLearned) {
        b.landmarks = learned.data();
        b.landmark_chunks = c.n / c.S;
      }
      writer.Append(b);
      writer.Close();
    }
    const StoreReader reader = StoreReader::Open(dir.str());
    LH = reader.shape().landmark_heads;
    R = reader.shape().landmark_dim;
    K.resize(c.n * c.H * c.d);
    V.resize(K.size());
    for (size_t t = 0; t < c.n; ++t) {
      for (size_t h = 0; h < c.H; ++h) {
        const ChunkKV kv = reader.chunk(t / c.S, h);
        for (size_t k = 0; k < c.d; ++k) {
          K[(t * c.H + h) * c.d + k] = LoadAsF32(kv.keys, c.dtype, (t % c.S) * c.d + k);
          V[(t * c.H + h) * c.d + k] = LoadAsF32(kv.values, c.dtype, (t % c.S) * c.d + k);
        }
      }
    }
    const size_t count = reader.chunks() * LH * reader.shape().landmark_values();
    for (size_t i = 0; i < count; ++i) landmarks.push_back(LoadAsF32(reader.landmarks(), c.dtype, i));
  }
};

struct QueryCase {
  size_t G = 1, k = 3, window = 0, sinks = 0;
  size_t position = kLastPosition;
  Fusion fusion = Fusion::kJoint;
  RetrievalWeights weights = RetrievalWeights::kSoftmax;
  bool softmax1 = false, give_r = false, local = true;
  float q_scale = 1.0f;
  uint64_t seed = 10;
};

// Runs the engine and the reference; checks selections, outputs and lse.
void Check(const Fixture& f, const QueryCase& qc) {
  const size_t Hq = f.c.H * qc.G, d = f.c.d;
  CAPTURE(Name(qc.fusion));
  CAPTURE(qc.G);
  CAPTURE(qc.k);
  CAPTURE(qc.window);
  CAPTURE(qc.position);
  const std::vector<float> q = test::RandomNormal(Hq * d, qc.seed, qc.q_scale);
  const std::vector<float> r_given = test::RandomNormal(f.LH * f.R, qc.seed + 1);
  RetrieverConfig config;
  config.q_heads = Hq;
  config.top_k = qc.k;
  config.fusion = qc.fusion;
  config.weights = qc.weights;
  config.window = qc.window;
  config.sink_chunks = qc.sinks;
  config.softmax_off_by_one = qc.softmax1;
  config.local_term = qc.local;
  const StoreReader reader = StoreReader::Open(f.dir.str());
  const Retriever retriever(reader, config);
  RetrievalQuery query{q.data(), qc.give_r ? r_given.data() : nullptr, qc.position};
  const size_t p = qc.position == kLastPosition ? f.c.n - 1 : qc.position;

  // r as docs/design.md defines it: given, or the mean of the group's queries.
  std::vector<double> r(f.LH * f.R, 0.0);
  if (qc.give_r) {
    r.assign(r_given.begin(), r_given.end());
  } else {
    const size_t per = Hq / f.LH;
    for (size_t s = 0; s < f.LH; ++s) {
      for (size_t g = 0; g < per; ++g) {
        for (size_t k = 0; k < f.R; ++k) r[s * f.R + k] += q[(s * per + g) * d + k] / double(per);
      }
    }
  }
  reference::RetrievalSpec spec;
  spec.S = f.c.S;
  spec.k = qc.k;
  spec.window = qc.window;
  spec.sinks = qc.sinks;
  spec.joint = qc.fusion == Fusion::kJoint;
  spec.stickbreaking = qc.weights == RetrievalWeights::kStickBreaking;
  spec.softmax1 = qc.softmax1;
  spec.local = qc.local;
  spec.minmax = f.c.kind == LandmarkKind::kMinMax;
  const auto expected = reference::Retrieve(f.K, f.V, f.c.n, f.c.H, d, f.landmarks, f.LH, f.R,
                                            test::ToDouble(q), Hq, r, p, spec);
  test::ForEachTarget([&] {
    const RetrievalResult got = retriever.Query(query);
    REQUIRE(got.selections.size() == f.LH);
    for (size_t s = 0; s < f.LH; ++s) {
      const auto& chosen = got.selections[s].chunks;
      REQUIRE(chosen.size() == expected.selected[s].size());
      for (size_t i = 0; i < chosen.size(); ++i) {
        CHECK(chosen[i] == expected.selected[s][i]);
        // Causality: a selected chunk ends before the window.
        CHECK((chosen[i] + 1) * f.c.S + qc.window <= p + 1);
      }
    }
    test::ErrorStats out_error;
    out_error.AddAll(got.out, expected.out);
    test::CheckKernelError(out_error);
    if (qc.fusion == Fusion::kJoint) {
      test::ErrorStats lse_error;
      lse_error.AddAll(got.lse, expected.lse);
      test::CheckKernelError(lse_error);
    } else {
      test::CheckAttention(got.local_out, expected.local_out, got.local_lse, expected.local_lse);
    }
  });
}

// Dense attention of q [Hq][d] over every token of the fixture, in double.
void DenseReference(const Fixture& f, const std::vector<float>& q, size_t Hq, std::vector<double>& out,
                    std::vector<double>& lse) {
  const size_t d = f.c.d, H = f.c.H, G = Hq / H;
  out.assign(Hq * d, 0.0);
  lse.assign(Hq, 0.0);
  for (size_t hq = 0; hq < Hq; ++hq) {
    const size_t h = hq / G;
    std::vector<double> keys, values;
    for (size_t t = 0; t < f.c.n; ++t) {
      keys.insert(keys.end(), &f.K[(t * H + h) * d], &f.K[(t * H + h) * d] + d);
      values.insert(values.end(), &f.V[(t * H + h) * d], &f.V[(t * H + h) * d] + d);
    }
    reference::Attention(test::ToDouble(q).data() + hq * d, keys.data(), values.data(), f.c.n, d,
                         1.0 / std::sqrt(double(d)), false, &out[hq * d], &lse[hq]);
  }
}

const LandmarkKind kKinds[] = {LandmarkKind::kMean, LandmarkKind::kMinMax, LandmarkKind::kLearned};

TEST_CASE("retriever: fusion modes × landmark kinds × dtypes against the reference") {
  for (DType dtype : test::kAllDTypes) {
    for (LandmarkKind kind : kKinds) {
      StoreCase sc;
      sc.dtype = dtype;
      sc.kind = kind;
      const Fixture f(sc);
      const std::string dtype_name = Name(dtype), kind_name = Name(kind);
      CAPTURE(dtype_name);
      CAPTURE(kind_name);
      for (Fusion fusion : {Fusion::kJoint, Fusion::kHsa}) {
        for (RetrievalWeights w : {RetrievalWeights::kSoftmax, RetrievalWeights::kStickBreaking}) {
          if (fusion == Fusion::kJoint && w == RetrievalWeights::kStickBreaking) continue;
          QueryCase qc;
          qc.G = 4;
          qc.fusion = fusion;
          qc.weights = w;
          qc.window = 20;
          qc.give_r = kind == LandmarkKind::kLearned;  // R != d
          Check(f, qc);
        }
      }
    }
  }
}

TEST_CASE("retriever: k ∈ {1, 3, > C}, GQA groups, positions and windows") {
  for (size_t G : {1, 4}) {
    const Fixture f(StoreCase{});
    for (size_t k : {1, 3, 100}) {
      for (size_t position : {kLastPosition, size_t(150), size_t(16), size_t(15), size_t(3)}) {
        for (size_t window : {0, 7, 40}) {
          QueryCase qc;
          qc.G = G;
          qc.k = k;
          qc.position = position;
          qc.window = window;
          qc.seed = k * 7 + window + G;
          Check(f, qc);
          qc.fusion = Fusion::kHsa;
          Check(f, qc);
        }
      }
    }
  }
}

TEST_CASE("retriever: joint fusion without the local term is one softmax over the selected chunks (the byte model's)") {
  const Fixture f(StoreCase{});
  for (size_t k : {1, 3, 100}) {
    for (size_t window : {0, 16, 40}) {
      QueryCase qc;
      qc.G = 4;
      qc.k = k;
      qc.window = window;
      qc.local = false;
      qc.seed = 31 + k + window;
      Check(f, qc);
    }
  }
}

TEST_CASE("retriever: sinks, softmax-off-by-one, a shared retrieval head, large logits") {
  const Fixture f(StoreCase{});
  QueryCase sinks;
  sinks.sinks = 2;
  sinks.k = 4;
  Check(f, sinks);
  for (Fusion fusion : {Fusion::kJoint, Fusion::kHsa}) {
    QueryCase softmax1;
    softmax1.fusion = fusion;
    softmax1.softmax1 = true;
    softmax1.window = 5;
    Check(f, softmax1);
  }
  StoreCase shared;
  shared.kind = LandmarkKind::kLearned;
  shared.LH = 1;  // one landmark per chunk: one selection for every kv head
  const Fixture g(shared);
  for (Fusion fusion : {Fusion::kJoint, Fusion::kHsa}) {
    QueryCase qc;
    qc.fusion = fusion;
    qc.G = 2;
    qc.give_r = true;
    Check(g, qc);
  }
  QueryCase large;
  large.q_scale = 8.0f;
  large.k = 5;
  Check(f, large);
}

TEST_CASE("retriever: joint with k >= candidates equals dense exact attention") {
  for (DType dtype : test::kAllDTypes) {
    StoreCase sc;
    sc.dtype = dtype;
    sc.n = 16 * 9 + 5;
    const Fixture f(sc);
    const StoreReader reader = StoreReader::Open(f.dir.str());
    for (size_t window : {0, 30}) {
      RetrieverConfig config;
      config.q_heads = 8;
      config.top_k = 1000;
      config.window = window;
      const Retriever retriever(reader, config);
      const auto q = test::RandomNormal(8 * 32, window + 3);
      const RetrievalResult got = retriever.Query({q.data(), nullptr, kLastPosition});
      std::vector<double> dense, dense_lse;
      DenseReference(f, q, 8, dense, dense_lse);
      test::CheckAttention(got.out, dense, got.lse, dense_lse);
      CHECK(got.candidates + (got.local_tokens + 15) / 16 >= 9);
    }
  }
}

TEST_CASE("dense decode over a store (segments, paged records, the tail) equals the reference") {
  for (DType dtype : test::kAllDTypes) {
    StoreCase sc;
    sc.dtype = dtype;
    sc.segment_chunks = 3;  // 12 chunks in 4 segments, then a tail of 11
    const Fixture f(sc);
    const StoreReader reader = StoreReader::Open(f.dir.str());
    REQUIRE(reader.info().segments == 4);
    const auto q = test::RandomNormal(8 * 32, 7);
    std::vector<float> out(8 * 32), lse(8);
    DenseDecodeOverStore(reader, q.data(), 8, out.data(), lse.data());
    std::vector<double> dense, dense_lse;
    DenseReference(f, q, 8, dense, dense_lse);
    test::CheckAttention(out, dense, lse, dense_lse);
  }
}

TEST_CASE("retriever: a batch (one GEMM per tile) equals queries one by one") {
  for (LandmarkKind kind : kKinds) {
    StoreCase sc;
    sc.kind = kind;
    sc.dtype = DType::kBF16;
    sc.n = 16 * 40 + 3;
    const Fixture f(sc);
    const StoreReader reader = StoreReader::Open(f.dir.str());
    RetrieverConfig config;
    config.q_heads = 4;
    config.top_k = 6;
    const Retriever retriever(reader, config);
    std::vector<std::vector<float>> qs, rs;
    std::vector<RetrievalQuery> batch;
    for (size_t i = 0; i < 10; ++i) {
      qs.push_back(test::RandomNormal(4 * 32, 100 + i));
      rs.push_back(test::RandomNormal(f.LH * f.R, 200 + i));
    }
    for (size_t i = 0; i < 10; ++i) {
      batch.push_back({qs[i].data(), kind == LandmarkKind::kLearned ? rs[i].data() : nullptr,
                       i % 3 ? kLastPosition : 100 + 37 * i});
    }
    const auto together = retriever.QueryBatch(batch);
    for (size_t i = 0; i < 10; ++i) {
      const RetrievalResult alone = retriever.Query(batch[i]);
      CAPTURE(i);
      for (size_t s = 0; s < f.LH; ++s) CHECK(together[i].selections[s].chunks == alone.selections[s].chunks);
      test::ErrorStats e;
      e.AddAll(together[i].out, alone.out);
      test::CheckKernelError(e);
      CHECK(together[i].bytes_touched == alone.bytes_touched);
    }
  }
}

TEST_CASE("hardening 11: batched landmark scores equal single-query ones bit for bit (R = 8, 3 heads, exact ties)") {
  // Small-integer landmarks and retrieval queries: every dot product is
  // exact, and many chunks tie. 1/sqrt(8) is inexact, so only scores scaled
  // the same way in both paths keep the ties, and "ties to the lower id".
  const size_t S = 4, H = 3, d = 8, R = 8, chunks = 300, M = 12;
  test::TempStoreDir dir("ties");
  StoreOptions o;
  o.shape = {S, H, d, DType::kBF16, LandmarkKind::kLearned, H, R};
  std::mt19937 rng(15);
  std::uniform_int_distribution<int> small(-3, 3);
  std::vector<float> kv = test::RandomNormal(chunks * S * H * d, 3), landmarks(chunks * H * R);
  for (float& x : landmarks) x = float(small(rng));
  {
    StoreWriter writer = StoreWriter::Create(dir.str(), o);
    TokenBatch b;
    b.tokens = chunks * S;
    b.keys = b.values = kv.data();
    b.landmarks = landmarks.data();
    b.landmark_chunks = chunks;
    writer.Append(b);
    writer.Close();
  }
  const StoreReader reader = StoreReader::Open(dir.str());
  RetrieverConfig config;
  config.q_heads = H;
  config.top_k = 7;
  const Retriever retriever(reader, config);
  REQUIRE(M >= config.batch_gemm_min);
  std::vector<std::vector<float>> qs, rs;
  std::vector<RetrievalQuery> batch;
  for (size_t i = 0; i < M; ++i) {
    qs.push_back(test::RandomNormal(H * d, 40 + i));
    rs.emplace_back(H * R);
    for (float& x : rs.back()) x = float(small(rng));
  }
  for (size_t i = 0; i < M; ++i) batch.push_back({qs[i].data(), rs[i].data(), kLastPosition});
  const auto together = retriever.QueryBatch(batch);
  size_t ties = 0;
  for (size_t i = 0; i < M; ++i) {
    const RetrievalResult alone = retriever.Query(batch[i]);
    CAPTURE(i);
    for (size_t h = 0; h < H; ++h) {
      const SelectionExplanation &b = together[i].selections[h], &a = alone.selections[h];
      CAPTURE(h);
      CHECK(b.chunks == a.chunks);
      REQUIRE(b.scores.size() == a.scores.size());
      for (size_t k = 0; k < a.scores.size(); ++k) {
        CHECK(std::memcmp(&b.scores[k], &a.scores[k], sizeof(float)) == 0);  // bit for bit
        // Ties to the lower chunk id, and the exact scaled dot product.
        if (k > 0 && a.scores[k] == a.scores[k - 1]) {
          CHECK(a.chunks[k] > a.chunks[k - 1]);
          ++ties;
        }
        float dot = 0;
        for (size_t j = 0; j < R; ++j) dot += rs[i][h * R + j] * landmarks[(a.chunks[k] * H + h) * R + j];
        CHECK(a.scores[k] == dot * (1.0f / std::sqrt(float(R))));
      }
    }
  }
  CHECK(ties > 20);  // the case this test is about did occur
}

TEST_CASE("retriever: empty stores, queries before the first chunk, bad queries") {
  test::TempStoreDir empty_dir("empty");
  StoreOptions o;
  o.shape = {16, 2, 32, DType::kF16, LandmarkKind::kMean, 0, 0};
  StoreWriter::Create(empty_dir.str(), o).Close();
  const StoreReader empty = StoreReader::Open(empty_dir.str());
  const auto q = test::RandomNormal(2 * 32, 1);
  RetrieverConfig config;
  const Retriever on_empty(empty, config);
  const RetrievalResult nothing = on_empty.Query({q.data(), nullptr, kLastPosition});
  for (float x : nothing.out) CHECK(x == 0.0f);
  for (float x : nothing.lse) CHECK(x == -INFINITY);
  CHECK(nothing.selections[0].chunks.empty());
  CHECK_THROWS_WITH_AS(on_empty.Query({q.data(), nullptr, 0}), doctest::Contains("past the store"), Error);

  const Fixture f(StoreCase{});
  const StoreReader reader = StoreReader::Open(f.dir.str());
  config.fusion = Fusion::kHsa;
  const Retriever hsa(reader, config);
  const RetrievalResult early = hsa.Query({q.data(), nullptr, 9});  // before chunk 0 completes
  CHECK(early.candidates == 0);
  CHECK(early.local_tokens == 10);
  for (float x : early.out) CHECK(x == 0.0f);  // no candidates: zero retrieval term
  CHECK(std::isfinite(early.local_lse[0]));

  CHECK_THROWS_WITH_AS(hsa.Query({nullptr, nullptr, kLastPosition}), doctest::Contains("null"), Error);
  CHECK_THROWS_WITH_AS(hsa.Query({q.data(), nullptr, f.c.n}), doctest::Contains("past the store"), Error);
  RetrieverConfig bad;
  bad.q_heads = 3;
  CHECK_THROWS_WITH_AS(Retriever(reader, bad), doctest::Contains("multiple of the store's kv heads"), Error);
  bad.q_heads = 2;
  bad.fusion = Fusion::kHsa;
  bad.sink_chunks = 1;
  CHECK_THROWS_WITH_AS(Retriever(reader, bad), doctest::Contains("sink chunks belong to joint"), Error);
  StoreCase learned;
  learned.kind = LandmarkKind::kLearned;
  const Fixture l(learned);
  const StoreReader learned_reader = StoreReader::Open(l.dir.str());
  CHECK_THROWS_WITH_AS(Retriever(learned_reader, RetrieverConfig{}).Query({q.data(), nullptr, kLastPosition}),
                       doctest::Contains("give the retrieval query r"), Error);
  CHECK_THROWS_WITH_AS(ParseFusion("both"), doctest::Contains("unknown fusion 'both'"), Error);
}

// A question continuing the store (the byte model's answers): position
// p ≥ n with the rule unchanged is the same selection as p' = n−1 with the
// window shortened by p − p'; a rule needing chunks past the store is refused.
TEST_CASE("retriever: positions past the store") {
  const Fixture f(StoreCase{});  // n 203, S 16: 12 complete chunks + 11
  const StoreReader reader = StoreReader::Open(f.dir.str());
  const auto q = test::RandomNormal(2 * 32, 5);
  RetrieverConfig past, here;
  past.fusion = here.fusion = Fusion::kHsa;
  past.top_k = here.top_k = 3;
  past.local_term = false;
  past.window = 40;
  here.window = 40 - 20;
  const RetrievalResult a = Retriever(reader, past).Query({q.data(), nullptr, f.c.n - 1 + 20, true});
  const RetrievalResult b = Retriever(reader, here).Query({q.data(), nullptr, f.c.n - 1});
  CHECK(a.candidates == b.candidates);
  CHECK(a.selections[0].chunks == b.selections[0].chunks);
  CHECK(a.out == b.out);
  CHECK(a.local_tokens == 0);
  for (float x : a.local_out) CHECK(x == 0.0f);  // no local term asked for
  CHECK_THROWS_WITH_AS(Retriever(reader, past).Query({q.data(), nullptr, f.c.n - 1 + 20}),
                       doctest::Contains("past the store"), Error);
  past.window = 8;  // position 222 would see chunk 12, which is not complete in the store
  CHECK_THROWS_WITH_AS(Retriever(reader, past).Query({q.data(), nullptr, f.c.n - 1 + 20, true}),
                       doctest::Contains("needs chunks past the store's 12 complete chunks"), Error);
}

}  // namespace
}  // namespace landmark
