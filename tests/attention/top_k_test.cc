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

TEST_CASE("top-k: ranges' AppendBest, bounded and merged, equal one heap (ties, NaN, -0)") {
  std::mt19937 rng(9);
  for (int trial = 0; trial < 60; ++trial) {
    const size_t n = 1 + rng() % 5000, k = 1 + rng() % 200, range = 1 + rng() % 1500;
    std::uniform_int_distribution<int> value(0, trial % 3 == 0 ? 30 : 100000);  // many ties, or few
    std::vector<float> scores(n);
    for (float& s : scores) s = float(value(rng)) * (rng() % 2 ? 1.0f : -1.0f);
    if (trial % 5 == 1) scores[rng() % n] = std::nanf("");
    if (trial % 7 == 2) scores[rng() % n] = -0.0f;
    TopK whole(k);
    whole.PushRange(scores.data(), n, 0);
    std::vector<ScoredChunk> parts;
    std::vector<float> scratch;
    std::vector<uint32_t> candidates;
    float bound = -std::numeric_limits<float>::infinity();
    for (size_t begin = 0; begin < n; begin += range) {
      const size_t m = std::min(range, n - begin);
      bound = std::max(bound, AppendBest(scores.data() + begin, m, uint32_t(begin), k, scratch, candidates, parts));
    }
    std::vector<ScoredChunk> chosen;
    for (const ScoredChunk& c : parts) {
      if (bound == -std::numeric_limits<float>::infinity() || c.score >= bound) chosen.push_back(c);
    }
    KeepBest(chosen, k);
    INFO("n ", n, " k ", k, " range ", range);
    CHECK(Ids(chosen) == Ids(whole.Sorted()));
  }
}

}  // namespace
}  // namespace landmark
