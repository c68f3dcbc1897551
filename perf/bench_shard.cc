#include "perf/bench_shard.h"

#include <fmt/core.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "landmark/error.h"
#include "src/probe/probe.h"
#include "landmark/retriever.h"
#include "perf/bench_report.h"
#include "perf/synthetic_store.h"

namespace landmark::perf {
namespace {

namespace fs = std::filesystem;

double MedianOf(std::vector<double> x) {
  std::sort(x.begin(), x.end());
  return x.empty() ? 0 : x[x.size() / 2];
}

}  // namespace

ShardBenchRow BenchShards(Communicator& comm, const ShardBenchOptions& o,
                          const std::function<void(const std::string&)>& progress) {
  const size_t ranks = comm.size(), rank = comm.rank();
  const std::string whole = o.dir + "/whole", prefix = o.dir + "/sharded-" + std::to_string(ranks);
  Planted planted;
  if (rank == 0) {
    progress(fmt::format("building {} tokens × {} kv heads in {} ({} shards)", o.tokens, o.kv_heads, o.dir, ranks));
    fs::create_directories(o.dir);
    planted = BuildStore(whole, o.tokens, o.kv_heads, o.group, o.d, o.needles, uint32_t(o.tokens * 31 + o.kv_heads),
                         progress, ranks, prefix);
  }
  comm.Barrier();
  RetrieverConfig rc;
  rc.q_heads = o.kv_heads * o.group;
  rc.top_k = o.top_k;
  rc.device = Device::kCpu;
  ShardedRetriever sharded(prefix, rc, comm);
  const size_t q_size = rc.q_heads * o.d;
  ShardBenchRow row;
  row.ranks = ranks;
  row.tokens = o.tokens;
  row.kv_heads = o.kv_heads;
  row.threads = size_t(tbb::this_task_arena::max_concurrency());
  std::vector<RetrievalResult> single(o.needles);
  std::vector<double> single_ms, sharded_ms;
  if (rank == 0) {  // one process over the whole store, the others waiting
    progress("one process over the whole store");
    const StoreReader store = StoreReader::Open(whole);
    const Retriever retriever(store, rc);
    for (size_t i = 0; i < o.needles; ++i) {
      const RetrievalQuery q{planted.queries.data() + i * q_size, nullptr, kLastPosition};
      single[i] = retriever.Query(q);
      double best = 1e30;
      for (int rep = 0; rep < 5; ++rep) {
        const auto start = Clock::now();
        retriever.Query(q);
        best = std::min(best, Millis(start, Clock::now()));
      }
      single_ms.push_back(best);
      row.bytes_read += double(single[i].bytes_touched) / double(o.needles);
    }
  }
  comm.Barrier();
  if (rank == 0) progress(fmt::format("sharded over {} ranks", ranks));
  row.same_selections = true;
  double fastest = 1e30;
  size_t sent = 0;
  for (size_t i = 0; i < o.needles; ++i) {
    std::vector<RetrievalQuery> query;
    if (rank == 0) query.push_back({planted.queries.data() + i * q_size, nullptr, kLastPosition});
    std::vector<RetrievalResult> got = sharded.QueryBatch(query);  // warm
    double best = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
      comm.Barrier();
      const auto start = Clock::now();
      sharded.QueryBatch(query);
      const double ms = Millis(start, Clock::now());
      best = std::min(best, ms);
      if (ms < fastest) {
        fastest = ms;
        row.steps = sharded.timings();
      }
    }
    sent = sharded.timings().bytes_sent;
    sharded_ms.push_back(best);
    if (rank != 0) continue;
    for (size_t h = 0; h < got[0].selections.size(); ++h) {
      row.same_selections = row.same_selections && got[0].selections[h].chunks == single[i].selections[h].chunks;
    }
    for (size_t k = 0; k < got[0].out.size(); ++k) {
      row.max_diff = std::max(row.max_diff, double(std::abs(got[0].out[k] - single[i].out[k])));
    }
  }
  std::vector<size_t> all(ranks);
  comm.Allgather(&sent, sizeof(sent), all.data());
  for (size_t s : all) row.bytes_moved += double(s);
  row.sharded_ms = MedianOf(sharded_ms);
  row.single_ms = MedianOf(single_ms);
  if (rank == 0) {
    ProbeOptions probe;
    probe.buffer_bytes = size_t(256) << 20;
    row.read_gbps = ProbeMachine(probe).read_gbps_all;
  }
  comm.Barrier();
  if (rank == 0 && !o.keep) {
    fs::remove_all(whole);
    fs::remove_all(prefix);
  }
  return row;
}

void PrintShardTable(std::FILE* out, const ShardBenchRow& r) {
  const double limit = r.bytes_read / (r.read_gbps * 1e9) * 1e3;
  fmt::print(out, "{:>5} {:>9} {:>4} {:>8} {:>10} {:>10} {:>7} {:>9} {:>8} {:>9} {:>8} {:>8} {:>9} {:>10} {:>6} {:>9}\n",
             "ranks", "tokens", "Hkv", "threads", "sharded", "1 process", "ratio", "limit", "select", "allgather",
             "attend", "gather", "combine", "moved/q", "same", "max|diff|");
  fmt::print(out, "{:>5} {:>9} {:>4} {:>8} {:>8.3f}ms {:>8.3f}ms {:>7.2f} {:>7.3f}ms {:>6.3f}ms {:>7.3f}ms {:>6.3f}ms "
                  "{:>6.3f}ms {:>7.3f}ms {:>8.1f}KiB {:>6} {:>9.2e}\n",
             r.ranks, r.tokens, r.kv_heads, r.threads, r.sharded_ms, r.single_ms, r.single_ms / r.sharded_ms, limit,
             r.steps.select * 1e3, r.steps.allgather * 1e3, r.steps.attend * 1e3, r.steps.gather * 1e3,
             r.steps.combine * 1e3, r.bytes_moved / 1024.0, r.same_selections ? "yes" : "NO", r.max_diff);
}

void AppendShardCsv(const std::string& path, const std::string& cpu, const ShardBenchRow& r) {
  const bool fresh = !fs::exists(path);
  if (fresh) OpenCsv(path).close();
  std::ofstream csv(path, std::ios::app);
  LANDMARK_CHECK_ARG(csv.good(), path + ": cannot open for writing");
  if (fresh) {
    csv << "ranks,tokens,kv_heads,threads_per_rank,sharded_ms,single_ms,speedup,bytes_read_per_query,read_gbps,"
           "limit_ms,select_ms,allgather_ms,attend_ms,gather_ms,combine_ms,bytes_moved_per_query,same_selections,"
           "max_abs_diff,cpu\n";
  }
  csv << fmt::format("{},{},{},{},{:.4f},{:.4f},{:.3f},{:.0f},{:.2f},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f},{:.0f},{},"
                     "{:.3g},{}\n",
                     r.ranks, r.tokens, r.kv_heads, r.threads, r.sharded_ms, r.single_ms, r.single_ms / r.sharded_ms,
                     r.bytes_read, r.read_gbps, r.bytes_read / (r.read_gbps * 1e9) * 1e3, r.steps.select * 1e3,
                     r.steps.allgather * 1e3, r.steps.attend * 1e3, r.steps.gather * 1e3, r.steps.combine * 1e3,
                     r.bytes_moved, r.same_selections ? 1 : 0, r.max_diff, Quoted(cpu));
  LANDMARK_CHECK_ARG(csv.good(), path + ": write failed");
}

}  // namespace landmark::perf
