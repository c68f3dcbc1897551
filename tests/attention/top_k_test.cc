// Top-k selection: ties to the lower chunk id, NaN last, merges of partial
// heaps equal one heap over everything, k larger than the input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "src/attention/top_k.h"

namespace landmark {
namespace {

std::vector<uint32_t> Ids(const std::vector<ScoredChunk>& v) {
  std::vector<uint32_t> ids;
  for (const auto& x : v) ids.push_back(x.chunk);
  return ids;
}

TEST_CASE("top-k: ties go to the lower chunk id; NaN ranks last") {
  TopK top(3);
  const float scores[] = {1.0f, 5.0f, std::nanf(""), 5.0f, 2.0f, 5.0f};
  top.PushRange(scores, 6, 10);
  CHECK(Ids(top.Sorted()) == std::vector<uint32_t>{11, 13, 15});
  TopK with_nan(6);
  with_nan.PushRange(scores, 6, 0);
  CHECK(Ids(with_nan.Sorted()) == std::vector<uint32_t>{1, 3, 5, 4, 0, 2});
  TopK none(0);
  none.Push(1.0f, 0);
  CHECK(none.Sorted().empty());
}

TEST_CASE("top-k: Better's rank key orders every pair as the definition does") {
  // The definition, written out: NaN below every number, then the higher
  // score (-0 == +0), then the lower chunk.
  const auto reference = [](const ScoredChunk& a, const ScoredChunk& b) {
    const bool a_nan = std::isnan(a.score), b_nan = std::isnan(b.score);
    if (a_nan != b_nan) return b_nan;
    if (!a_nan && a.score != b.score) return a.score > b.score;
    return a.chunk < b.chunk;
  };
  const float inf = std::numeric_limits<float>::infinity(), big = std::numeric_limits<float>::max();
  const float tiny = std::numeric_limits<float>::denorm_min();
  std::vector<ScoredChunk> items;
  for (float s : {std::nanf(""), -std::nanf(""), -inf, -big, -1.5f, -tiny, -0.0f, 0.0f, tiny, 1.0f, 1.5f, big, inf}) {
    for (uint32_t chunk : {0u, 1u, 7u, 0x7fffffffu, 0xfffffffeu, 0xffffffffu}) items.push_back({s, chunk});
  }
  for (const ScoredChunk& a : items) {
    for (const ScoredChunk& b : items) {
      CAPTURE(a.score);
      CAPTURE(a.chunk);
      CAPTURE(b.score);
      CAPTURE(b.chunk);
      CHECK(Better(a, b) == reference(a, b));
    }
  }
}

TEST_CASE("top-k: merged partial heaps equal one heap; k > n keeps everything") {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> small(0, 20);  // many ties
  std::vector<float> scores(1000);
  for (float& s : scores) s = float(small(rng));
  for (size_t k : {1, 7, 64, 2000}) {
    TopK whole(k), merged(k);
    whole.PushRange(scores.data(), scores.size(), 0);
    for (size_t begin = 0; begin < scores.size(); begin += 137) {
      TopK part(k);
      const size_t n = std::min<size_t>(137, scores.size() - begin);
      part.PushRange(scores.data() + begin, n, uint32_t(begin));
      merged.Merge(part);
    }
    CHECK(Ids(merged.Sorted()) == Ids(whole.Sorted()));
    std::vector<uint32_t> expected(scores.size());
    for (uint32_t i = 0; i < expected.size(); ++i) expected[i] = i;
    std::sort(expected.begin(), expected.end(), [&](uint32_t a, uint32_t b) {
      return scores[a] != scores[b] ? scores[a] > scores[b] : a < b;
    });
    expected.resize(std::min(k, scores.size()));
    CHECK(Ids(whole.Sorted()) == expected);
  }
}

TEST_CASE("top-k: a sampled threshold, ranges kept in parallel, then the best: equals one heap (ties, NaN, -0, inf)") {
  std::mt19937 rng(9);
  for (int trial = 0; trial < 120; ++trial) {
    const size_t n = 1 + rng() % 40000, k = 1 + rng() % (trial % 4 == 0 ? 2000 : 200), range = 1 + rng() % 3000;
    std::uniform_int_distribution<int> value(0, trial % 3 == 0 ? 30 : 100000);  // many ties, or few
    std::vector<float> scores(n);
    for (float& s : scores) s = float(value(rng)) * (rng() % 2 ? 1.0f : -1.0f);
    if (trial % 5 == 1) scores[rng() % n] = std::nanf("");
    if (trial % 7 == 2) scores[rng() % n] = -0.0f;
    if (trial % 11 == 3) {  // mostly NaN or -inf: too few numbers reach any threshold
      for (float& s : scores) s = rng() % 2 ? std::nanf("") : -std::numeric_limits<float>::infinity();
    }
    if (trial % 13 == 4) scores[rng() % n] = std::numeric_limits<float>::infinity();
    if (trial % 17 == 5) std::sort(scores.begin(), scores.end());  // the best all in the last range
    TopK whole(k);
    whole.PushRange(scores.data(), n, 0);
    const SamplePlan plan = PlanSample(n, k);
    float threshold = -std::numeric_limits<float>::infinity();
    if (plan.stride > 0) {
      std::vector<float> sample;
      for (size_t i = 0; i < n; i += plan.stride) sample.push_back(scores[i]);
      threshold = SampleThreshold(sample, plan.rank);
    }
    std::vector<ScoredChunk> candidates;
    for (size_t begin = 0; begin < n; begin += range) {
      AppendAtLeast(scores.data() + begin, std::min(range, n - begin), uint32_t(begin), threshold, candidates);
    }
    INFO("n ", n, " k ", k, " range ", range, " stride ", plan.stride, " rank ", plan.rank);
    if (plan.stride > 0 && trial % 11 != 3 && trial % 17 != 5) {
      CHECK(candidates.size() < std::max<size_t>(n / 2, 8 * k));  // the threshold filters
    }
    CHECK(Ids(BestOfCandidates(candidates, scores.data(), n, 0, k)) == Ids(whole.Sorted()));
  }
}

TEST_CASE("top-k: the sample plan keeps most queries off the fallback") {
  // Uniform random scores: the threshold must let at least k through (else
  // BestOfCandidates falls back to one serial heap) in nearly every query.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const auto& shape : std::vector<std::pair<size_t, size_t>>{{4096, 64}, {16384, 64}, {262144, 64}, {65536, 512}}) {
    const size_t n = shape.first, k = shape.second;  // not a structured binding: clang 14 cannot capture one
    const SamplePlan plan = PlanSample(n, k);
    REQUIRE(plan.stride > 0);
    size_t short_of_k = 0, passed = 0;
    std::vector<float> scores(n), sample;
    for (int query = 0; query < 200; ++query) {
      for (float& s : scores) s = u(rng);
      sample.clear();
      for (size_t i = 0; i < n; i += plan.stride) sample.push_back(scores[i]);
      const float threshold = SampleThreshold(sample, plan.rank);
      const size_t reach = size_t(std::count_if(scores.begin(), scores.end(), [&](float s) { return s >= threshold; }));
      short_of_k += reach < k;
      passed += reach;
    }
    INFO("n ", n, " k ", k);
    CHECK(short_of_k <= 1);
    CHECK(passed / 200 < 16 * k);  // and few enough for a cheap serial merge
  }
}

}  // namespace
}  // namespace landmark
