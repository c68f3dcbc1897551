#include "perf/bench_decode.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "landmark/error.h"
#include "src/io/npy.h"
#include "landmark/retriever.h"
#include "landmark/store.h"
#include "perf/bench_report.h"
#include "perf/synthetic_store.h"
#include "src/attention/dense_over_store.h"
#include "src/backend/cuda_backend.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

namespace landmark::perf {
namespace {

namespace fs = std::filesystem;

double Median(std::vector<double> x) {
  if (x.empty()) return 0;
  std::sort(x.begin(), x.end());
  return x[x.size() / 2];
}

// The GPU retriever on the same store and needles: K/V resident and
// streamed (one query at a time), and batches of gpu_batch queries.
void MeasureGpu(const StoreReader& store, RetrieverConfig rc, const Planted& planted, const DecodeBenchOptions& o,
                DecodeBenchRow& row, const std::function<void(const std::string&)>& progress) {
  const size_t q_size = rc.q_heads * store.shape().head_dim;
  const Retriever cpu(store, rc);
  for (GpuKv placement : {GpuKv::kResident, GpuKv::kStream}) {
    rc.device = Device::kCuda;
    rc.gpu_kv = placement;
    progress(fmt::format("GPU, K/V {}", Name(placement)));
    const Retriever gpu(store, rc);
    if (placement == GpuKv::kResident && !gpu.kv_on_gpu()) continue;
    std::vector<double> times;
    size_t found = 0, total = 0;
    for (size_t i = 0; i < o.needles; ++i) {
      const RetrievalQuery query{planted.queries.data() + i * q_size, nullptr, kLastPosition};
      RetrievalResult r = gpu.Query(query);
      double best = 1e30;
      for (int rep = 0; rep < 5; ++rep) {
        const auto start = Clock::now();
        r = gpu.Query(query);
        best = std::min(best, Millis(start, Clock::now()));
      }
      times.push_back(best);
      const RetrievalResult c = cpu.Query(query);
      for (size_t k = 0; k < c.out.size(); ++k) row.gpu_max_diff = std::max(row.gpu_max_diff, double(std::abs(c.out[k] - r.out[k])));
      for (const SelectionExplanation& s : r.selections) {
        found += std::find(s.chunks.begin(), s.chunks.end(), planted.chunks[i]) != s.chunks.end();
        ++total;
      }
    }
    row.gpu_recall = double(found) / double(std::max<size_t>(1, total));
    (placement == GpuKv::kResident ? row.gpu_resident_ms : row.gpu_stream_ms) = Median(times);
    if (placement == GpuKv::kResident && o.gpu_batch > 1) {
      std::vector<RetrievalQuery> batch(o.gpu_batch);
      for (size_t i = 0; i < batch.size(); ++i) batch[i] = {planted.queries.data() + (i % o.needles) * q_size, nullptr, kLastPosition};
      gpu.QueryBatch(batch);
      double best = 1e30;
      for (int rep = 0; rep < 3; ++rep) {
        const auto start = Clock::now();
        gpu.QueryBatch(batch);
        best = std::min(best, Millis(start, Clock::now()));
      }
      row.gpu_batch_ms = best / double(batch.size());
    }
  }
}

// Best wall time of `reps` runs, in ms.
template <class Run>
double BestMs(int reps, const Run& run) {
  double best = 1e30;
  for (int rep = 0; rep < reps; ++rep) {
    const auto start = Clock::now();
    run();
    best = std::min(best, Millis(start, Clock::now()));
  }
  return best;
}

// Median over the needles of the best of 5 runs of query(i).
template <class Query>
double WarmMs(size_t needles, const Query& query) {
  std::vector<double> warm;
  for (size_t i = 0; i < needles; ++i) {
    query(i);
    warm.push_back(BestMs(5, [&] { query(i); }));
  }
  return Median(warm);
}

// A scaling row of `row`'s store: time per query against bytes ÷ bandwidth.
DecodeScalingRow ScalingRow(const DecodeBenchRow& row, const char* kind, size_t threads, size_t streams,
                            double ms_per_query, double limit_gbps) {
  DecodeScalingRow r{row.config, kind, row.tokens, threads, streams};
  r.ms_per_query = ms_per_query;
  r.queries_per_s = 1e3 / ms_per_query;
  r.bytes = row.bytes;
  r.limit_gbps = limit_gbps;
  r.limit_ms = r.bytes / (limit_gbps * 1e9) * 1e3;
  return r;
}

// Thread sweep, concurrent streams and GPU batches on one store.
void MeasureScaling(const StoreReader& store, const RetrieverConfig& rc, const Planted& planted, const DecodeBenchRow& row,
                    const DecodeBenchOptions& o, const std::function<void(const std::string&)>& progress) {
  const size_t q_size = rc.q_heads * store.shape().head_dim;
  const Retriever retriever(store, rc);
  auto query = [&](size_t i) { retriever.Query({planted.queries.data() + (i % o.needles) * q_size, nullptr, kLastPosition}); };
  ProbeOptions probe;
  probe.buffer_bytes = size_t(256) << 20;
  for (size_t threads : o.thread_sweep) {
    progress(fmt::format("{}: {} threads", row.config, threads));
    double ms = 0;
    tbb::task_arena arena{int(threads)};
    arena.execute([&] { ms = WarmMs(o.needles, query); });
    probe.threads = threads;
    o.scaling->push_back(ScalingRow(row, "threads", threads, 1, ms, ProbeMachine(probe).read_gbps_all));
  }
  probe.threads = 0;
  const double all_gbps = o.streams.empty() ? 0 : ProbeMachine(probe).read_gbps_all;
  for (size_t streams : o.streams) {
    progress(fmt::format("{}: {} concurrent streams", row.config, streams));
    // Each stream asks its queries one after another; every thread serves.
    const size_t rounds = std::max<size_t>(4, 512 / streams), total = rounds * streams;
    auto run = [&] {
      tbb::parallel_for(tbb::blocked_range<size_t>(0, streams, 1), [&](const tbb::blocked_range<size_t>& range) {
        for (size_t s = range.begin(); s != range.end(); ++s) {
          for (size_t j = 0; j < rounds; ++j) query(s + j);
        }
      });
    };
    run();  // warm
    o.scaling->push_back(ScalingRow(row, "streams", size_t(tbb::this_task_arena::max_concurrency()), streams,
                                    BestMs(3, run) / double(total), all_gbps));
  }
}

// Resident GPU decode of batches of each size.
void MeasureGpuBatches(const StoreReader& store, RetrieverConfig rc, const Planted& planted, const DecodeBenchRow& row,
                       const DecodeBenchOptions& o, double hbm_gbps, const std::function<void(const std::string&)>& progress) {
  if (o.gpu_batches.empty()) return;
  rc.device = Device::kCuda;
  rc.gpu_kv = GpuKv::kResident;
  const size_t q_size = rc.q_heads * store.shape().head_dim;
  const Retriever gpu(store, rc);
  for (size_t batch : o.gpu_batches) {
    progress(fmt::format("{}: GPU batch of {}", row.config, batch));
    std::vector<RetrievalQuery> queries(batch);
    for (size_t i = 0; i < batch; ++i) queries[i] = {planted.queries.data() + (i % o.needles) * q_size, nullptr, kLastPosition};
    gpu.QueryBatch(queries);  // warm
    const double best = BestMs(3, [&] { gpu.QueryBatch(queries); });
    o.scaling->push_back(ScalingRow(row, "gpu-batch", 0, batch, best / double(batch), hbm_gbps));
    // Once more with the backend's per-call profile (kernel times, the
    // calls' wall times; stderr), against this whole batch's wall time.
    setenv("LANDMARK_CUDA_PROFILE", "1", 1);
    const double profiled = BestMs(1, [&] { gpu.QueryBatch(queries); });
    unsetenv("LANDMARK_CUDA_PROFILE");
    std::fprintf(stderr, "cuda-profile batch of %zu: whole QueryBatch %.3f ms (profiled run; best unprofiled %.3f ms)\n",
                 batch, profiled, best);
  }
}

DecodeBenchRow Measure(const std::string& config, const std::string& dir, size_t n, size_t H, size_t G, size_t d,
                       const MachineLimits& limits, const DecodeBenchOptions& o,
                       const std::function<void(const std::string&)>& progress) {
  DecodeBenchRow row;
  row.config = config;
  row.tokens = n;
  row.kv_heads = H;
  row.group = G;
  row.d = d;
  progress(fmt::format("building {} tokens × {} kv heads (d {}, f16) in {}", n, H, d, dir));
  const Planted planted = BuildStore(dir, n, H, G, d, o.needles, uint32_t(n * 31 + H), progress);
  RetrieverConfig rc;
  rc.q_heads = H * G;
  rc.top_k = o.top_k;
  rc.device = Device::kCpu;
  const size_t q_size = H * G * d;
  // Cold first: mapped pages survive drop_caches, so nothing may hold the
  // store mapped; each cold query opens it anew (reading only the manifest).
  if (o.cold && DropPageCache()) {
    progress("querying cold (store reopened after the page cache is dropped)");
    std::vector<double> cold;
    for (size_t i = 0; i < o.needles; ++i) {
      DropPageCache();
      const auto start = Clock::now();
      const StoreReader fresh = StoreReader::Open(dir);
      Retriever(fresh, rc).Query({planted.queries.data() + i * q_size, nullptr, kLastPosition});
      cold.push_back(Millis(start, Clock::now()));
    }
    row.cold_ms = Median(cold);
  }

  const StoreReader store = StoreReader::Open(dir);
  const Retriever retriever(store, rc);
  auto query = [&](size_t i) { return retriever.Query({planted.queries.data() + i * q_size, nullptr, kLastPosition}); };

  progress(fmt::format("querying {} planted needles (warm)", o.needles));
  size_t found = 0, total = 0;
  row.warm_ms = WarmMs(o.needles, query);
  for (size_t i = 0; i < o.needles; ++i) {
    const RetrievalResult r = query(i);
    row.bytes += double(r.bytes_touched) / double(o.needles);
    for (const SelectionExplanation& s : r.selections) {
      found += std::find(s.chunks.begin(), s.chunks.end(), planted.chunks[i]) != s.chunks.end();
      ++total;
    }
  }
  row.recall = double(found) / double(std::max<size_t>(1, total));
  row.landmark_bytes = double(store.chunks()) * store.shape().landmark_bytes_per_chunk();
  row.limit_ms = row.bytes / (limits.read_gbps_all * 1e9) * 1e3;
  row.kv_bytes = row.bytes - double(store.chunks()) * store.shape().landmark_bytes_per_chunk();
  if (o.device == Device::kCuda) MeasureGpu(store, rc, planted, o, row, progress);
  if (o.scaling && n == (size_t(1) << 20)) {
    MeasureScaling(store, rc, planted, row, o, progress);
    if (o.device == Device::kCuda) MeasureGpuBatches(store, rc, planted, row, o, o.hbm_gbps, progress);
  }

  progress("dense exact decode of the whole store (warm)");
  std::vector<float> out(q_size), lse(H * G);
  DenseDecodeOverStore(store, planted.queries.data(), H * G, out.data(), lse.data());  // warm-up
  double best = 1e30;
  for (int rep = 0; rep < 2; ++rep) {
    const auto start = Clock::now();
    DenseDecodeOverStore(store, planted.queries.data(), H * G, out.data(), lse.data());
    best = std::min(best, Millis(start, Clock::now()));
  }
  row.dense_ms = best;
  if (o.keep) {
    row.store = dir;
    WriteNpy(dir + "/needle-queries.npy", planted.queries.data(), DType::kF32, {o.needles, H * G, d});
  } else {
    fs::remove_all(dir);
  }
  return row;
}

}  // namespace

std::vector<DecodeBenchRow> BenchDecode(const MachineLimits& limits, const DecodeBenchOptions& options,
                                        const std::function<void(const std::string&)>& progress) {
  DecodeBenchOptions o = options;
  if (o.sizes.empty()) {
    o.sizes = o.quick ? std::vector<size_t>{size_t(1) << 14, size_t(1) << 16}
                      : std::vector<size_t>{size_t(1) << 17, size_t(1) << 20, size_t(1) << 22, size_t(1) << 24};
  }
  fs::create_directories(o.dir);
  std::vector<DecodeBenchRow> rows;
  for (size_t n : o.sizes) {
    rows.push_back(Measure("1 kv head, G 4", o.dir + "/n" + std::to_string(n), n, 1, 4, 128, limits, o, progress));
  }
  if (o.headline) {
    const size_t n = o.quick ? size_t(1) << 16 : size_t(1) << 20;
    rows.push_back(Measure("headline: Hkv 8, G 4", o.dir + "/headline", n, 8, 4, 128, limits, o, progress));
  }
  return rows;
}

GpuBenchLimits ProbeGpu() {
  ResolveDevice(Device::kCuda);
  GpuBenchLimits g;
  g.gpu = Devices().gpus.at(0).name;
  backend::GpuLimits l;
  try {
    l = backend::CudaBackend()->Probe(0);
  } catch (const std::exception& e) {
    LANDMARK_THROW(std::string("bench: ") + e.what());
  }
  g.hbm_gbps = l.hbm_gbps;
  g.h2d_gbps = l.h2d_gbps;
  g.fma_gflops = l.fma_gflops;
  g.bf16_gflops = l.bf16_mma_gflops;
  return g;
}

void PrintGpu(std::FILE* out, const GpuBenchLimits& g) {
  fmt::print(out, "gpu: {}: HBM {:.0f} GB/s (device copy, read + write), PCIe host->device {:.1f} GB/s (pinned), "
                  "f32 FMA {:.0f} GFLOP/s (CUDA cores), bf16 mma.sync {:.0f} GFLOP/s (tensor cores)\n", g.gpu, g.hbm_gbps,
             g.h2d_gbps, g.fma_gflops, g.bf16_gflops);
}

std::string GpuSlug(const std::string& name) {
  std::string slug;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) slug += char(std::tolower(static_cast<unsigned char>(c)));
    else if (!slug.empty() && slug.back() != '-') slug += '-';
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return slug;
}

void PrintDecodeGpuTable(std::FILE* out, const GpuBenchLimits& g, const std::vector<DecodeBenchRow>& rows) {
  fmt::print(out, "{:<22} {:>9} {:>9} {:>9} {:>8} {:>7} {:>9} {:>8} {:>7} {:>10} {:>8} {:>8} {:>7}\n", "store", "tokens",
             "cpu", "resident", "HBM lim", "ratio", "streamed", "PCIe lim", "ratio", "batch/q", "x cpu", "x dense",
             "recall");
  for (const DecodeBenchRow& r : rows) {
    const double hbm = r.bytes / (g.hbm_gbps * 1e9) * 1e3, pcie = r.kv_bytes / (g.h2d_gbps * 1e9) * 1e3;
    const double best = r.gpu_resident_ms > 0 ? r.gpu_resident_ms : r.gpu_stream_ms;
    fmt::print(out, "{:<22} {:>9} {:>7.3f}ms {:>7.3f}ms {:>6.3f}ms {:>7.3f} {:>7.3f}ms {:>6.3f}ms {:>7.3f} {:>8.4f}ms {:>7.1f}x {:>7.0f}x {:>6.0f}%\n",
               r.config, r.tokens, r.warm_ms, r.gpu_resident_ms, hbm, r.gpu_resident_ms > 0 ? hbm / r.gpu_resident_ms : 0.0,
               r.gpu_stream_ms, pcie, pcie / r.gpu_stream_ms, r.gpu_batch_ms, r.warm_ms / best, r.dense_ms / best,
               100 * r.gpu_recall);
  }
}

void WriteDecodeGpuCsv(const std::string& path, const MachineLimits& limits, const GpuBenchLimits& g,
                       const std::vector<DecodeBenchRow>& rows) {
  std::ofstream csv = OpenCsv(path);
  csv << "gpu,config,tokens,kv_heads,group,d,bytes_per_query,kv_bytes_per_query,cpu_warm_ms,gpu_resident_ms,"
         "hbm_limit_ms,hbm_ratio,gpu_stream_ms,pcie_limit_ms,pcie_ratio,gpu_batch_ms_per_query,speedup_resident,"
         "speedup_stream,speedup_batch,dense_cpu_ms,recall_cpu,recall_gpu,max_abs_diff,hbm_gbps,h2d_gbps,cpu\n";
  for (const DecodeBenchRow& r : rows) {
    const double hbm = r.bytes / (g.hbm_gbps * 1e9) * 1e3, pcie = r.kv_bytes / (g.h2d_gbps * 1e9) * 1e3;
    auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
    csv << fmt::format("{},{},{},{},{},{},{:.0f},{:.0f},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f},{:.5f},{:.2f},{:.2f},"
                       "{:.2f},{:.3f},{:.4f},{:.4f},{:.3g},{:.1f},{:.2f},{}\n",
                       Quoted(g.gpu), Quoted(r.config), r.tokens, r.kv_heads, r.group, r.d, r.bytes, r.kv_bytes,
                       r.warm_ms, r.gpu_resident_ms, hbm, ratio(hbm, r.gpu_resident_ms), r.gpu_stream_ms, pcie,
                       ratio(pcie, r.gpu_stream_ms), r.gpu_batch_ms, ratio(r.warm_ms, r.gpu_resident_ms),
                       ratio(r.warm_ms, r.gpu_stream_ms), ratio(r.warm_ms, r.gpu_batch_ms), r.dense_ms, r.recall,
                       r.gpu_recall, r.gpu_max_diff, g.hbm_gbps, g.h2d_gbps, Quoted(limits.cpu));
  }
  LANDMARK_CHECK_ARG(csv.good(), path + ": write failed");
}

void PrintDecodeTable(std::FILE* out, const std::vector<DecodeBenchRow>& rows) {
  fmt::print(out, "{:<22} {:>9} {:>9} {:>9} {:>10} {:>9} {:>7} {:>10} {:>8} {:>7}\n", "store", "tokens", "warm",
             "cold", "read/query", "limit", "ratio", "dense", "speedup", "recall");
  for (const DecodeBenchRow& r : rows) {
    fmt::print(out, "{:<22} {:>9} {:>7.2f}ms {:>7} {:>7.1f}MiB {:>7.2f}ms {:>7.2f} {:>8.1f}ms {:>7.0f}x {:>6.0f}%\n",
               r.config, r.tokens, r.warm_ms, r.cold_ms > 0 ? fmt::format("{:.1f}ms", r.cold_ms) : "-",
               r.bytes / double(1 << 20), r.limit_ms, r.limit_ms / r.warm_ms, r.dense_ms, r.dense_ms / r.warm_ms,
               100 * r.recall);
  }
}

void WriteDecodeCsv(const std::string& path, const MachineLimits& limits, const std::vector<DecodeBenchRow>& rows) {
  const fs::path p(path);
  std::error_code error;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), error);
  std::ofstream csv(p);
  LANDMARK_CHECK_ARG(csv.good(), path + ": cannot open for writing");
  csv << "config,tokens,kv_heads,group,d,warm_ms,cold_ms,bytes_per_query,landmark_bytes,limit_ms,ratio,dense_ms,"
         "speedup,recall,read_gbps_all,cpu\n";
  for (const DecodeBenchRow& r : rows) {
    csv << fmt::format("\"{}\",{},{},{},{},{:.4f},{:.4f},{:.0f},{:.0f},{:.4f},{:.4f},{:.4f},{:.2f},{:.4f},{:.2f},\"{}\"\n",
                       r.config, r.tokens, r.kv_heads, r.group, r.d, r.warm_ms, r.cold_ms, r.bytes, r.landmark_bytes,
                       r.limit_ms, r.limit_ms / r.warm_ms, r.dense_ms, r.dense_ms / r.warm_ms, r.recall,
                       limits.read_gbps_all, limits.cpu);
  }
  LANDMARK_CHECK_ARG(csv.good(), path + ": write failed");
}

}  // namespace landmark::perf

namespace landmark::perf {

void PrintDecodeScalingTable(std::FILE* out, const std::vector<DecodeScalingRow>& rows) {
  fmt::print(out, "{:<22} {:>9} {:>9} {:>8} {:>8} {:>11} {:>11} {:>10} {:>9} {:>7}\n", "store", "tokens", "sweep", "threads",
             "streams", "ms/query", "queries/s", "read/query", "limit", "ratio");
  for (const DecodeScalingRow& r : rows) {
    fmt::print(out, "{:<22} {:>9} {:>9} {:>8} {:>8} {:>9.4f}ms {:>11.0f} {:>7.1f}MiB {:>7.4f}ms {:>7.2f}\n", r.config,
               r.tokens, r.kind, r.threads ? std::to_string(r.threads) : "-", r.streams, r.ms_per_query, r.queries_per_s,
               r.bytes / double(1 << 20), r.limit_ms, r.ratio());
  }
}

void WriteDecodeScalingCsv(const std::string& path, const std::string& machine, const std::vector<DecodeScalingRow>& rows) {
  std::ofstream csv = OpenCsv(path);
  csv << "config,kind,tokens,threads,streams,ms_per_query,queries_per_s,bytes_per_query,limit_gbps,limit_ms,ratio,machine\n";
  for (const DecodeScalingRow& r : rows) {
    csv << fmt::format("{},{},{},{},{},{:.5f},{:.1f},{:.0f},{:.2f},{:.5f},{:.4f},{}\n", Quoted(r.config), r.kind, r.tokens,
                       r.threads, r.streams, r.ms_per_query, r.queries_per_s, r.bytes, r.limit_gbps, r.limit_ms, r.ratio(),
                       Quoted(machine));
  }
  LANDMARK_CHECK_ARG(csv.good(), path + ": write failed");
}

}  // namespace landmark::perf
