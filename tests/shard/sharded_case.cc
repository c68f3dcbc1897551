#include "tests/shard/sharded_case.h"

#include <doctest/doctest.h>
#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "landmark/store.h"
#include "tests/test_util.h"

namespace landmark::test {

std::vector<ShardStoreCase> ShardStoreCases() {
  std::vector<ShardStoreCase> cases;
  for (DType dtype : {DType::kF32, DType::kF16}) {
    for (LandmarkKind kind : {LandmarkKind::kMean, LandmarkKind::kMinMax, LandmarkKind::kLearned}) {
      ShardStoreCase c;
      c.dtype = dtype;
      c.kind = kind;
      c.seed = 7 + cases.size();
      cases.push_back(c);
    }
  }
  ShardStoreCase shared;  // one landmark head for both kv heads
  shared.kind = LandmarkKind::kLearned;
  shared.LH = 1;
  shared.n = 640;  // no tail
  cases.push_back(shared);
  return cases;
}

std::vector<ShardQueryCase> ShardQueryCases(const ShardStoreCase& store) {
  std::vector<ShardQueryCase> cases;
  ShardQueryCase q;
  cases.push_back(q);  // joint, last position
  q.k = 64;            // every candidate: joint = dense
  cases.push_back(q);
  q.k = 4;
  q.window = 40;
  q.sinks = 1;
  q.queries = 3;
  cases.push_back(q);
  q.position = store.n / 3;  // candidates and local term early in the store
  q.sinks = 0;
  cases.push_back(q);
  q = ShardQueryCase{};
  q.fusion = Fusion::kHsa;
  q.k = 5;
  q.given_r = true;
  cases.push_back(q);
  q.weights = RetrievalWeights::kStickBreaking;
  q.softmax1 = true;
  q.window = 24;
  q.given_r = false;
  q.G = 1;
  cases.push_back(q);
  q.position = store.n / 2;
  q.queries = 2;
  cases.push_back(q);
  if (store.kind != LandmarkKind::kLearned) return cases;
  for (ShardQueryCase& c : cases) c.given_r = true;  // learned landmarks of dim R need r
  return cases;
}

std::string Describe(const ShardStoreCase& s, const ShardQueryCase& q) {
  return fmt::format("{} {} n={} LH={} | {} {} k={} G={} W={} sinks={} pos={} M={} r={} softmax1={}", Name(s.dtype),
                     Name(s.kind), s.n, s.kind == LandmarkKind::kLearned ? s.LH : s.H, Name(q.fusion), Name(q.weights),
                     q.k, q.G, q.window, q.sinks, q.position == kLastPosition ? -1 : long(q.position), q.queries,
                     q.given_r, q.softmax1);
}

void WriteShardedStores(const ShardStoreCase& c, const std::string& whole, const std::string& prefix, size_t shards) {
  StoreOptions o;
  const bool learned = c.kind == LandmarkKind::kLearned;
  o.shape = {c.S, c.H, c.d, c.dtype, c.kind, learned ? c.LH : 0, learned ? c.R : 0};
  o.commit_every = 3;
  std::vector<float> keys = RandomNormal(c.n * c.H * c.d, c.seed), values = RandomNormal(c.n * c.H * c.d, c.seed + 1);
  for (size_t i = 0; i < keys.size(); ++i) keys[i] += 0.6f * std::sin(float(i / (c.H * c.d * c.S)));
  const size_t chunks = c.n / c.S, row = c.H * c.d;
  const std::vector<float> landmarks = RandomNormal(std::max<size_t>(1, chunks) * c.LH * c.R, c.seed + 2);
  auto write = [&](const std::string& dir, size_t first, size_t end) {
    StoreWriter writer = StoreWriter::Create(dir, o);
    TokenBatch b;
    b.tokens = end - first;
    b.keys = keys.data() + first * row;
    b.values = values.data() + first * row;
    if (learned) {
      b.landmarks = landmarks.data() + first / c.S * c.LH * c.R;
      b.landmark_chunks = b.tokens / c.S;
    }
    writer.Append(b);
    writer.Close();
  };
  write(whole, 0, c.n);
  for (size_t i = 0; i < shards; ++i) {
    write(ShardPath(prefix, i), i * chunks / shards * c.S, i + 1 == shards ? c.n : (i + 1) * chunks / shards * c.S);
  }
}

void CheckShardedQuery(Communicator& comm, const ShardStoreCase& s, const ShardQueryCase& q, const std::string& whole,
                       const std::string& prefix) {
  RetrieverConfig config;
  config.q_heads = s.H * q.G;
  config.top_k = q.k;
  config.fusion = q.fusion;
  config.weights = q.weights;
  config.softmax_off_by_one = q.softmax1;
  config.window = q.window;
  config.sink_chunks = q.sinks;
  config.device = Device::kCpu;
  const size_t LH = s.kind == LandmarkKind::kLearned ? s.LH : s.H, R = s.kind == LandmarkKind::kLearned ? s.R : s.d;
  const size_t q_size = config.q_heads * s.d, r_size = LH * R;
  const std::vector<float> qs = RandomNormal(q.queries * q_size, s.seed + 11, 2.0f);
  const std::vector<float> rs = RandomNormal(q.queries * r_size, s.seed + 12, 2.0f);
  std::vector<RetrievalQuery> queries(q.queries);
  for (size_t i = 0; i < q.queries; ++i) {
    queries[i].q = &qs[i * q_size];
    queries[i].r = q.given_r ? &rs[i * r_size] : nullptr;
    queries[i].position = q.position == kLastPosition ? kLastPosition : q.position + i;
  }
  ShardedRetriever sharded(prefix, config, comm);
  const std::vector<RetrievalResult> got = sharded.QueryBatch(comm.rank() == 0 ? queries : std::vector<RetrievalQuery>{});
  if (comm.rank() != 0) {
    CHECK(got.empty());
    return;
  }
  const StoreReader store = StoreReader::Open(whole);
  const Retriever one(store, config);
  CHECK(sharded.tokens() == store.tokens());
  CHECK(sharded.chunks() == store.chunks());
  REQUIRE(got.size() == q.queries);
  for (size_t i = 0; i < q.queries; ++i) {
    const RetrievalResult want = one.Query(queries[i]);
    const RetrievalResult& r = got[i];
    INFO(Describe(s, q), " query ", i);
    CHECK(r.position == want.position);
    CHECK(r.candidates == want.candidates);
    CHECK(r.local_tokens == want.local_tokens);
    CHECK(r.bytes_touched == want.bytes_touched);
    REQUIRE(r.selections.size() == want.selections.size());
    for (size_t h = 0; h < r.selections.size(); ++h) {
      CHECK(r.selections[h].chunks == want.selections[h].chunks);  // identical selections
      CHECK(r.selections[h].scores == want.selections[h].scores);
      REQUIRE(r.selections[h].weights.size() == want.selections[h].weights.size());
      for (size_t j = 0; j < r.selections[h].weights.size(); ++j) {
        CHECK(r.selections[h].weights[j] == doctest::Approx(want.selections[h].weights[j]).epsilon(1e-4));
      }
    }
    // Outputs within f32 rounding (the merge order differs).
    auto close = [](const std::vector<float>& a, const std::vector<float>& b, const char* what) {
      REQUIRE(a.size() == b.size());
      double worst = 0;
      for (size_t k = 0; k < a.size(); ++k) {
        if (std::isinf(b[k])) {
          CHECK(a[k] == b[k]);
          continue;
        }
        worst = std::max(worst, std::abs(double(a[k]) - double(b[k])) / std::max(1.0, std::abs(double(b[k]))));
      }
      INFO(what);
      CHECK(worst < 2e-5);
    };
    close(r.out, want.out, "out");
    close(r.lse, want.lse, "lse");
    close(r.local_out, want.local_out, "local_out");
    close(r.local_lse, want.local_lse, "local_lse");
  }
}

}  // namespace landmark::test
