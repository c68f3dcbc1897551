#include <doctest/doctest.h>

#include <cmath>

#include "src/probe/probe.h"

namespace landmark {
namespace {

TEST_CASE("ProbeMachine measures positive, finite limits") {
  ProbeOptions options;
  options.buffer_bytes = size_t(32) << 20;
  options.repeats = 1;
  options.fma_seconds = 0.02;
  const MachineLimits limits = ProbeMachine(options);
  CHECK(limits.threads >= 1);
  CHECK(!limits.target.empty());
  for (double x : {limits.read_gbps_one, limits.read_gbps_all, limits.fma_gflops_one,
                   limits.fma_gflops_all}) {
    CHECK(std::isfinite(x));
    CHECK(x > 0.1);
  }
}

}  // namespace
}  // namespace landmark
