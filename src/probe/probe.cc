// Machine probe: stream read bandwidth and f32 FMA peak, on one thread and on
// all, with the same Highway target the kernels use. std::thread (not TBB)
// so that each measurement thread is really one OS thread.

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/probe/probe.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/aligned_allocator.h"
#include "hwy/highway.h"
#include "src/kernels/kernels.h"
#include "landmark/error.h"
#include "src/probe/probe.h"

HWY_BEFORE_NAMESPACE();
namespace landmark {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Sums n floats with 8 independent accumulators (reads every byte once).
float StreamSum(const float* HWY_RESTRICT p, size_t n) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  auto s0 = hn::Zero(df), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
  size_t i = 0;
  for (; i + 8 * N <= n; i += 8 * N) {
    s0 = hn::Add(s0, hn::Load(df, p + i));
    s1 = hn::Add(s1, hn::Load(df, p + i + N));
    s2 = hn::Add(s2, hn::Load(df, p + i + 2 * N));
    s3 = hn::Add(s3, hn::Load(df, p + i + 3 * N));
    s4 = hn::Add(s4, hn::Load(df, p + i + 4 * N));
    s5 = hn::Add(s5, hn::Load(df, p + i + 5 * N));
    s6 = hn::Add(s6, hn::Load(df, p + i + 6 * N));
    s7 = hn::Add(s7, hn::Load(df, p + i + 7 * N));
  }
  s0 = hn::Add(hn::Add(hn::Add(s0, s1), hn::Add(s2, s3)), hn::Add(hn::Add(s4, s5), hn::Add(s6, s7)));
  float sum = hn::GetLane(hn::SumOfLanes(df, s0));
  for (; i < n; ++i) sum += p[i];
  return sum;
}

// Runs `iterations` × 12 independent vector FMAs; returns FLOPs done and a
// value that depends on all of them (so nothing is optimised away).
double FmaLoop(size_t iterations, float* sink) {
  const hn::ScalableTag<float> df;
  constexpr size_t kChains = 12;  // > latency × ports on every x86 we target
  hn::Vec<decltype(df)> acc[kChains];
  for (size_t c = 0; c < kChains; ++c) acc[c] = hn::Set(df, 1.0f + 0.001f * float(c));
  const auto mul = hn::Set(df, 0.999999f), add = hn::Set(df, 1e-7f);
  for (size_t i = 0; i < iterations; ++i) {
    HWY_UNROLL(12) for (size_t c = 0; c < kChains; ++c) acc[c] = hn::MulAdd(acc[c], mul, add);
  }
  auto total = acc[0];
  for (size_t c = 1; c < kChains; ++c) total = hn::Add(total, acc[c]);
  *sink = hn::GetLane(hn::SumOfLanes(df, total));
  return double(iterations) * kChains * 2.0 * double(hn::Lanes(df));
}

}  // namespace HWY_NAMESPACE
}  // namespace landmark
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace landmark {
namespace {

HWY_EXPORT(StreamSum);
HWY_EXPORT(FmaLoop);

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown CPU";
}

size_t UsableCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

// Runs body(t) on `threads` threads started together; returns wall seconds.
template <class Body>
double RunOnThreads(size_t threads, const Body& body) {
  std::atomic<size_t> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      body(t);
    });
  }
  while (ready.load() != threads) std::this_thread::yield();
  const auto start = Clock::now();
  go.store(true, std::memory_order_release);
  for (auto& thread : pool) thread.join();
  return Seconds(start, Clock::now());
}

double ReadBandwidth(const float* buffer, size_t n, size_t threads, int repeats) {
  double best = 1e30;
  std::vector<float> sink(threads);
  for (int rep = 0; rep < repeats; ++rep) {
    best = std::min(best, RunOnThreads(threads, [&](size_t t) {
      const size_t begin = n * t / threads, end = n * (t + 1) / threads;
      sink[t] = HWY_DYNAMIC_DISPATCH(StreamSum)(buffer + begin, end - begin);
    }));
  }
  return double(n) * sizeof(float) / best / 1e9;
}

double FmaPeak(size_t threads, double seconds, int repeats) {
  // Calibrate the iteration count on one thread; each repeat runs `seconds`
  // split in short runs, the best of which counts.
  seconds /= 4;
  repeats *= 4;
  float sink = 0;
  size_t iterations = 1 << 16;
  for (;;) {
    const auto start = Clock::now();
    HWY_DYNAMIC_DISPATCH(FmaLoop)(iterations, &sink);
    const double elapsed = Seconds(start, Clock::now());
    if (elapsed > seconds / 4 || iterations > (size_t(1) << 34)) {
      iterations = size_t(double(iterations) * seconds / std::max(elapsed, 1e-6));
      break;
    }
    iterations *= 4;
  }
  double best = 0;
  std::vector<float> sinks(threads);
  std::vector<double> flops(threads);
  for (int rep = 0; rep < repeats; ++rep) {
    const double elapsed = RunOnThreads(threads, [&](size_t t) {
      flops[t] = HWY_DYNAMIC_DISPATCH(FmaLoop)(iterations, &sinks[t]);
    });
    double total = 0;
    for (double f : flops) total += f;
    best = std::max(best, total / elapsed / 1e9);
  }
  return best;
}

}  // namespace

double ProbeDiskWrite(const std::string& dir, size_t bytes) {
  const std::string path = dir + "/landmark-disk-probe.tmp";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  LANDMARK_CHECK_ARG(fd >= 0, path + ": cannot create: " + std::strerror(errno));
  std::vector<char> block(size_t(8) << 20, 'x');
  const auto start = Clock::now();
  bool ok = true;
  for (size_t done = 0; ok && done < bytes; done += block.size()) {
    ok = ::write(fd, block.data(), block.size()) == ssize_t(block.size());
  }
  ok = ok && ::fdatasync(fd) == 0;
  const double seconds = Seconds(start, Clock::now());
  const int e = errno;
  ::close(fd);
  ::unlink(path.c_str());
  LANDMARK_CHECK_ARG(ok, path + ": write failed: " + std::strerror(e));
  return double(bytes) / seconds / 1e9;
}

MachineLimits ProbeMachine(const ProbeOptions& options) {
  MachineLimits limits;
  limits.cpu = CpuModel();
  limits.target = KernelTarget();
  limits.threads = options.threads ? options.threads : UsableCpus();
  const int repeats = std::max(1, options.repeats);

  const size_t n = std::max<size_t>(options.buffer_bytes / sizeof(float), 1024);
  hwy::AlignedFreeUniquePtr<float[]> buffer = hwy::AllocateAligned<float>(n);
  LANDMARK_CHECK_ARG(buffer != nullptr, "probe: cannot allocate the read buffer");
  // Touch every page (in parallel, so first-touch places pages near each reader).
  RunOnThreads(limits.threads, [&](size_t t) {
    const size_t begin = n * t / limits.threads, end = n * (t + 1) / limits.threads;
    std::fill(buffer.get() + begin, buffer.get() + end, 1.0f);
  });
  // Interference (other processes, a busy hypervisor) can only lower a
  // measured rate, so each limit is the best of its repeats; the all-thread
  // figures, most exposed to it, get twice the repeats.
  limits.read_gbps_one = ReadBandwidth(buffer.get(), n, 1, repeats);
  limits.read_gbps_all = ReadBandwidth(buffer.get(), n, limits.threads, 2 * repeats);
  limits.fma_gflops_one = FmaPeak(1, options.fma_seconds, repeats);
  limits.fma_gflops_all = FmaPeak(limits.threads, options.fma_seconds, 2 * repeats);
  return limits;
}

}  // namespace landmark
#endif  // HWY_ONCE
