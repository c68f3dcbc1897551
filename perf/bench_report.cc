#include "perf/bench_report.h"

#include <fmt/core.h>
#include <sys/resource.h>
#include <unistd.h>
#include <fmt/os.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "landmark/error.h"

namespace landmark::perf {

double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double BestSeconds(const std::function<void()>& run, int min_repeats, double min_seconds) {
  using Clock = std::chrono::steady_clock;
  run();  // warm-up: page faults, caches, thread pool start
  double best = 1e30, total = 0;
  for (int i = 0; i < min_repeats || total < min_seconds; ++i) {
    const auto start = Clock::now();
    run();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::min(best, elapsed);
    total += elapsed;
    if (i > 1000) break;
  }
  return best;
}

double LimitValue(const MachineLimits& m, Limit limit) {
  switch (limit) {
    case Limit::kReadOneThread: return m.read_gbps_one;
    case Limit::kReadAllThreads: return m.read_gbps_all;
    case Limit::kFmaOneThread: return m.fma_gflops_one;
    case Limit::kFmaAllThreads: return m.fma_gflops_all;
    case Limit::kDiskWrite: return m.disk_write_gbps;
  }
  return 0;
}

std::string LimitName(const MachineLimits& m, Limit limit) {
  if (limit == Limit::kDiskWrite) return "disk write";
  const bool one = limit == Limit::kReadOneThread || limit == Limit::kFmaOneThread;
  const char* what = limit == Limit::kReadOneThread || limit == Limit::kReadAllThreads ? "read" : "FMA";
  return one ? fmt::format("{}, 1 thread", what) : fmt::format("{}, {} threads", what, m.threads);
}

const char* LimitUnit(Limit limit) {
  return limit == Limit::kFmaOneThread || limit == Limit::kFmaAllThreads ? "GFLOP/s" : "GB/s";
}

MachineLimits BestOf(const MachineLimits& a, const MachineLimits& b) {
  MachineLimits best = a;
  best.read_gbps_one = std::max(a.read_gbps_one, b.read_gbps_one);
  best.read_gbps_all = std::max(a.read_gbps_all, b.read_gbps_all);
  best.fma_gflops_one = std::max(a.fma_gflops_one, b.fma_gflops_one);
  best.fma_gflops_all = std::max(a.fma_gflops_all, b.fma_gflops_all);
  best.disk_write_gbps = std::max(a.disk_write_gbps, b.disk_write_gbps);
  return best;
}

bool DropPageCache() {
  ::sync();
  std::ofstream drop("/proc/sys/vm/drop_caches");
  if (!drop) return false;
  drop << "3\n";
  return bool(drop);
}

void PrintMachine(std::FILE* out, const MachineLimits& m) {
  fmt::print(out, "machine: {} | kernels: {} | {} threads\n", m.cpu, m.target, m.threads);
  fmt::print(out, "limits:  read {:.1f} GB/s (1 thread), {:.1f} GB/s ({} threads); "
                  "f32 FMA {:.0f} GFLOP/s (1 thread), {:.0f} GFLOP/s ({} threads)\n",
             m.read_gbps_one, m.read_gbps_all, m.threads, m.fma_gflops_one, m.fma_gflops_all,
             m.threads);
  if (m.disk_write_gbps > 0) fmt::print(out, "         disk write {:.2f} GB/s (sequential, fdatasync)\n", m.disk_write_gbps);
}

// RFC 4180 field: quoted, inner quotes doubled.
std::string Quoted(const std::string& field) {
  std::string out = "\"";
  for (char c : field) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string FormatTime(double seconds) {
  if (seconds < 1e-3) return fmt::format("{:.1f} us", seconds * 1e6);
  if (seconds < 1.0) return fmt::format("{:.2f} ms", seconds * 1e3);
  return fmt::format("{:.2f} s", seconds);
}

std::ofstream OpenCsv(const std::string& path) {
  const std::filesystem::path p(path);
  std::error_code error;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), error);
  std::ofstream csv(p);
  LANDMARK_CHECK_ARG(csv.good(), path + ": cannot open for writing");
  return csv;
}

void PrintTable(std::FILE* out, const MachineLimits& m, const std::vector<BenchResult>& results) {
  fmt::print(out, "{:<24} {:<5} {:<34} {:>10} {:>17} {:>27} {:>6}  {}\n", "kernel", "dtype",
             "shape", "time", "measured", "limit", "ratio", "target");
  for (const BenchResult& r : results) {
    const double limit = LimitValue(m, r.limit), ratio = r.measured() / limit;
    const std::string measured = fmt::format("{:.1f} {}", r.measured(), LimitUnit(r.limit));
    const std::string limit_text = fmt::format("{:.1f} ({})", limit, LimitName(m, r.limit));
    std::string verdict = r.target;
    if (!r.target.empty()) {
      const double wanted = std::stod(r.target.substr(r.target.find_first_of("0123456789")));
      verdict += ratio >= wanted ? "  met" : "  MISSED";
    }
    fmt::print(out, "{:<24} {:<5} {:<34} {:>10} {:>17} {:>27} {:>6.2f}  {}\n", r.kernel, r.dtype,
               r.shape, FormatTime(r.seconds), measured, limit_text, ratio, verdict);
  }
}

void WriteCsv(const std::string& path, const MachineLimits& m,
              const std::vector<BenchResult>& results) {
  std::ofstream csv = OpenCsv(path);
  csv << "kernel,dtype,shape,seconds,measured,unit,limit,limit_name,ratio,target,cpu,isa,threads\n";
  for (const BenchResult& r : results) {
    const double limit = LimitValue(m, r.limit);
    csv << fmt::format("{},{},{},{:.6g},{:.6g},{},{:.6g},{},{:.4f},{},{},{},{}\n", Quoted(r.kernel),
                       Quoted(r.dtype), Quoted(r.shape), r.seconds, r.measured(),
                       Quoted(LimitUnit(r.limit)), limit, Quoted(LimitName(m, r.limit)),
                       r.measured() / limit, Quoted(r.target), Quoted(m.cpu), Quoted(m.target),
                       m.threads);
  }
  LANDMARK_CHECK_ARG(csv.good(), path + ": write failed");
}

}  // namespace landmark::perf
