// Sampling: greedy, seeded reproducibility, temperature, top-k and the
// nucleus (top-p) mass, and draws that follow the distribution.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

#include "landmark/error.h"
#include "landmark/llm.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

using llm::Sampler;
using llm::SamplingOptions;

SamplingOptions Options(double temperature, double top_p = 1.0, size_t top_k = 0, uint64_t seed = 1) {
  SamplingOptions o;
  o.temperature = temperature;
  o.top_p = top_p;
  o.top_k = top_k;
  o.seed = seed;
  return o;
}

TEST_CASE("sampler: temperature 0 is greedy (ties to the lower id)") {
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f};
  Sampler greedy(Options(0.0));
  for (int i = 0; i < 5; ++i) CHECK(greedy.Sample(logits.data(), logits.size()) == 1);
  const auto d = greedy.Distribution(logits.data(), logits.size());
  REQUIRE(d.size() == 1);
  CHECK(d[0].first == 1);
  CHECK(d[0].second == 1.0f);
  // A temperature near 0 concentrates everything on the argmax too.
  Sampler cold(Options(1e-4));
  CHECK(cold.Sample(logits.data(), logits.size()) == 1);
}

TEST_CASE("sampler: seeded draws are reproducible, other seeds differ") {
  const std::vector<float> logits = test::RandomNormal(1000, 3, 2.0f);
  auto draws = [&](uint64_t seed) {
    Sampler s(Options(1.0, 0.95, 0, seed));
    std::vector<int32_t> ids;
    for (int i = 0; i < 50; ++i) ids.push_back(s.Sample(logits.data(), logits.size()));
    return ids;
  };
  CHECK(draws(7) == draws(7));
  CHECK(draws(7) != draws(8));
}

TEST_CASE("sampler: top-k keeps k tokens, top-p the fewest whose mass reaches p") {
  const std::vector<float> logits = test::RandomNormal(5000, 4, 3.0f);
  // Reference probabilities at temperature 0.7.
  std::vector<double> p(logits.size());
  double max = -INFINITY, total = 0;
  for (float x : logits) max = std::max(max, double(x));
  for (size_t i = 0; i < p.size(); ++i) total += (p[i] = std::exp((logits[i] - max) / 0.7));
  for (double& x : p) x /= total;
  for (double top_p : {0.1, 0.5, 0.9, 0.99}) {
    CAPTURE(top_p);
    const auto d = Sampler(Options(0.7, top_p)).Distribution(logits.data(), logits.size());
    double mass = 0, sum = 0;
    for (size_t i = 0; i < d.size(); ++i) {
      if (i > 0) CHECK(p[size_t(d[i].first)] <= p[size_t(d[i - 1].first)]);  // most likely first
      mass += p[size_t(d[i].first)];
      sum += d[i].second;
    }
    CHECK(mass >= top_p - 1e-9);
    CHECK(mass - p[size_t(d.back().first)] < top_p);  // the fewest: without the last it falls short
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
  }
  const auto top5 = Sampler(Options(0.7, 1.0, 5)).Distribution(logits.data(), logits.size());
  CHECK(top5.size() == 5);
  const auto all = Sampler(Options(0.7)).Distribution(logits.data(), logits.size());
  CHECK(all.size() == logits.size());
  CHECK(all[0].second == doctest::Approx(*std::max_element(p.begin(), p.end())).epsilon(1e-5));
}

TEST_CASE("sampler: draws follow the distribution") {
  const std::vector<float> logits = {0.0f, std::log(2.0f), std::log(3.0f), std::log(4.0f)};  // 1:2:3:4
  Sampler s(Options(1.0, 1.0, 0, 11));
  std::map<int32_t, int> counts;
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) ++counts[s.Sample(logits.data(), logits.size())];
  for (int32_t id = 0; id < 4; ++id) {
    CAPTURE(id);
    CHECK(double(counts[id]) / draws == doctest::Approx((id + 1) / 10.0).epsilon(0.06));
  }
  Sampler nucleus(Options(1.0, 0.65, 0, 11));  // keeps 4 and 3 (0.4 + 0.3 ≥ 0.65)
  for (int i = 0; i < 200; ++i) CHECK(nucleus.Sample(logits.data(), logits.size()) >= 2);
}

TEST_CASE("sampler: bad options are refused") {
  CHECK_THROWS_AS(Sampler(Options(1.0, 0.0)), Error);
  CHECK_THROWS_AS(Sampler(Options(1.0, 1.5)), Error);
  CHECK_THROWS_AS(Sampler(Options(NAN)), Error);
}

}  // namespace
}  // namespace landmark
