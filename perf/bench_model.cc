#include "perf/bench_model.h"

#include <fmt/core.h>

#include <algorithm>
#include <filesystem>

#include "landmark/model.h"
#include "perf/bench_report.h"
#include "apps/demo/model_demo.h"

namespace landmark::perf {

void RateModelRows(std::vector<ModelBenchRow>& rows, const MachineLimits& limits) {
  for (ModelBenchRow& row : rows) {
    row.lower_ratio = row.lower_gflops / limits.fma_gflops_all;
    row.cpu_ratio = row.cpu_gflops / limits.fma_gflops_one;
    row.limit_ms = row.bytes / (limits.read_gbps_all * 1e9) * 1e3;
  }
}

std::vector<ModelBenchRow> BenchModel(const ModelBenchOptions& options,
                                      const std::function<void(const std::string&)>& log) {
  std::vector<size_t> sizes = options.sizes;
  if (sizes.empty()) sizes = {size_t(1) << 16, size_t(1) << 20, size_t(1) << 22, size_t(1) << 24};
  std::vector<ModelBenchRow> rows;
  for (size_t tokens : sizes) {
    demo::ModelDemoOptions o;
    o.model = options.model;
    o.tokens = tokens;
    o.needles = options.needles;
    o.task = demo::ParseModelTask(options.task);
    o.seed = options.seed + tokens;
    o.cache_dir = options.dir;
    o.rebuild = true;
    o.keep = options.keep;
    log(fmt::format("{} tokens: ingesting a fresh haystack of held-out text, then the {} task's questions", tokens,
                    options.task));
    const demo::ModelDemoReport r = demo::RunModelDemo(o, log);
    ModelBenchRow row;
    row.tokens = r.tokens;
    row.questions = r.answers.size();
    row.correct = r.correct;
    row.retrieved = r.retrieved;
    row.values = r.values;
    row.values_found = r.values_found;
    row.ingest_s = r.ingest_seconds;
    row.lower_s = r.lower_seconds;
    row.flops_per_token = r.config.ingest_flops_per_token();
    row.lower_gflops = double(r.tokens) * row.flops_per_token / std::max(r.lower_seconds, 1e-9) / 1e9;
    row.cpu_s = r.ingest_cpu_seconds;
    row.cpu_gflops = double(r.tokens) * row.flops_per_token / std::max(r.ingest_cpu_seconds, 1e-9) / 1e9;
    row.warm_median_ms = r.median_ms;
    row.warm_p95_ms = r.p95_ms;
    row.first_median_ms = r.cold_median_ms;
    row.bytes = double(r.mean_bytes);
    row.store_bytes = double(r.store_bytes);
    rows.push_back(row);
  }
  return rows;
}

void PrintModelTable(std::FILE* out, const std::vector<ModelBenchRow>& rows) {
  std::fprintf(out, "%10s %9s %9s %9s %9s %10s %11s %7s %10s %7s %10s %10s %10s %10s %9s %7s\n", "tokens", "accuracy",
               "values", "retrieved", "ingest", "tokens/s", "lower GF/s", "ratio", "GF/cpu-s", "ratio", "warm p50", "warm p95",
               "first p50", "read", "limit", "ratio");
  for (const ModelBenchRow& r : rows) {
    std::fprintf(out, "%10zu %4zu/%-4zu %4zu/%-4zu %4zu/%-4zu %8.1fs %10.0f %11.1f %7.2f %10.1f %7.2f %7.1f ms %7.1f ms %7.1f ms %7.1f MiB %6.2f ms %7.2f\n",
                 r.tokens, r.correct, r.questions, r.values_found, r.values, r.retrieved, r.questions, r.ingest_s,
                 double(r.tokens) / std::max(r.ingest_s, 1e-9), r.lower_gflops, r.lower_ratio, r.cpu_gflops, r.cpu_ratio,
                 r.warm_median_ms,
                 r.warm_p95_ms, r.first_median_ms, r.bytes / double(1 << 20), r.limit_ms,
                 r.limit_ms / std::max(r.warm_median_ms, 1e-9));
  }
}

void WriteModelCsv(const std::string& path, const MachineLimits& limits, const std::string& model,
                   const std::string& task, const std::vector<ModelBenchRow>& rows) {
  std::ofstream f = OpenCsv(path);
  f << "cpu,target,threads,fma_gflops_all,read_gbps_all,model,task,tokens,questions,correct,accuracy,retrieved,"
       "ingest_s,ingest_tokens_per_s,flops_per_token,lower_s,lower_gflops,lower_ratio,fma_gflops_one,cpu_s,cpu_gflops,"
       "cpu_ratio,warm_median_ms,warm_p95_ms,"
       "first_median_ms,bytes_per_answer,limit_ms,store_bytes,values,values_found\n";
  for (const ModelBenchRow& r : rows) {
    f << Quoted(limits.cpu) << ',' << limits.target << ',' << limits.threads << ',' << limits.fma_gflops_all << ','
      << limits.read_gbps_all << ',' << Quoted(model) << ',' << Quoted(task) << ',' << r.tokens << ',' << r.questions << ',' << r.correct
      << ',' << double(r.correct) / double(std::max<size_t>(1, r.questions)) << ',' << r.retrieved << ','
      << r.ingest_s << ',' << double(r.tokens) / std::max(r.ingest_s, 1e-9) << ',' << r.flops_per_token << ','
      << r.lower_s << ',' << r.lower_gflops << ',' << r.lower_ratio << ',' << limits.fma_gflops_one << ',' << r.cpu_s
      << ',' << r.cpu_gflops << ',' << r.cpu_ratio << ',' << r.warm_median_ms << ','
      << r.warm_p95_ms << ',' << r.first_median_ms << ',' << r.bytes << ',' << r.limit_ms << ',' << r.store_bytes
      << ',' << r.values << ',' << r.values_found << '\n';
  }
}

}  // namespace landmark::perf
