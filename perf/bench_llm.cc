#include "perf/bench_llm.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "landmark/error.h"
#include "perf/bench_report.h"
#include "testing/random_weights.h"

namespace landmark::perf {
namespace {

constexpr const char* kMarker = "landmark-random-model.txt";  // written last: the model is complete

// Prefill FLOPs of T tokens: the layers' matmuls for every token, the LM
// head for the last one, and causal attention (q·k and p·v, 2 FLOPs per
// multiply-add, token t against t + 1 keys).
double PrefillFlops(const llm::LlmConfig& c, size_t T) {
  const double head = double(c.vocab_size) * double(c.hidden_size);
  const double layers = double(c.matmul_parameters()) - head;
  const double attention = 4.0 * double(c.layers * c.q_heads * c.head_dim) * double(T) * double(T + 1) / 2.0;
  return 2.0 * layers * double(T) + 2.0 * head + attention;
}

}  // namespace

std::string DefaultLlmBenchCache() {
  const char* home = std::getenv("HOME");
  return (std::filesystem::path(home ? home : "/tmp") / ".cache" / "landmark" / "bench-llm").string();
}

std::vector<std::string> LlmBenchModelNames() { return {"tiny", "qwen2.5-0.5b"}; }

llm::LlmConfig LlmBenchConfig(const std::string& name, DType* dtype) {
  llm::LlmConfig c;
  if (name == "tiny") {
    c.architecture = llm::Architecture::kLlama;
    c.vocab_size = 4096;
    c.hidden_size = 256;
    c.intermediate_size = 688;
    c.layers = 4;
    c.q_heads = 8;
    c.kv_heads = 4;
    c.head_dim = 32;
    c.max_position_embeddings = 2048;
    c.rope.theta = 10000.0;
    *dtype = DType::kF32;
  } else if (name == "qwen2.5-0.5b") {
    c.architecture = llm::Architecture::kQwen2;
    c.vocab_size = 151936;
    c.hidden_size = 896;
    c.intermediate_size = 4864;
    c.layers = 24;
    c.q_heads = 14;
    c.kv_heads = 2;
    c.head_dim = 64;
    c.max_position_embeddings = 32768;
    c.tie_word_embeddings = true;
    c.qkv_bias = true;
    c.rope.theta = 1000000.0;
    *dtype = DType::kBF16;
  } else {
    LANDMARK_THROW("bench llm: unknown model '" + name + "' (tiny or qwen2.5-0.5b)");
  }
  c.rms_norm_eps = 1e-6;
  c.layer_windows.assign(c.layers, 0);
  c.bos_id = 1;
  c.eos_ids = {2};
  return c;
}

std::string PrepareRandomLlm(const std::string& cache_dir, const std::string& name, uint64_t seed,
                             const std::function<void(const std::string&)>& log) {
  DType dtype = DType::kF32;
  const llm::LlmConfig config = LlmBenchConfig(name, &dtype);
  const std::filesystem::path dir = std::filesystem::path(cache_dir) / fmt::format("{}-seed{}", name, seed);
  const std::string stamp = fmt::format("{} seed {} dtype {} v1\n", name, seed, Name(dtype));
  {
    std::ifstream marker(dir / kMarker);
    std::string line;
    if (marker && std::getline(marker, line) && line + "\n" == stamp) return dir.string();
  }
  log(fmt::format("writing random {} weights ({} parameters, {}) to {} (once)", name, config.parameters(),
                  Name(dtype), dir.string()));
  std::filesystem::remove_all(dir);
  llm::WriteRandomLlm(dir.string(), config, seed, dtype);
  std::ofstream(dir / kMarker) << stamp;
  return dir.string();
}

std::vector<LlmBenchRow> BenchLlm(const LlmBenchOptions& options,
                                  const std::function<void(const std::string&)>& log) {
  const std::string cache = options.cache_dir.empty() ? DefaultLlmBenchCache() : options.cache_dir;
  const std::vector<std::string> names = options.models.empty() ? LlmBenchModelNames() : options.models;
  std::vector<LlmBenchRow> rows;
  for (const std::string& name : names) {
    const std::string dir = PrepareRandomLlm(cache, name, options.seed, log);
    const llm::LlmModel model = llm::LlmModel::Load(dir);
    const llm::LlmConfig& c = model.config();
    const size_t T = std::min(options.prompt_tokens, c.max_position_embeddings - options.decode_steps - 1);
    std::mt19937_64 rng(options.seed);
    std::vector<int32_t> prompt(T);
    for (int32_t& id : prompt) id = int32_t(rng() % c.vocab_size);

    LlmBenchRow row;
    row.model = name;
    row.dtype = Name(model.weight_dtype());
    row.parameters = c.parameters();
    row.prompt_tokens = T;
    row.flops_per_token = PrefillFlops(c, T) / double(T);
    log(fmt::format("{}: prefill of {} tokens", name, T));
    row.prefill_s = row.prefill_cpu_s = 1e30;
    for (int repeat = 0; repeat < 3; ++repeat) {  // the first warms up (page faults, primitives)
      llm::LlmSession session(model);
      const double cpu = ProcessCpuSeconds();
      const auto start = Clock::now();
      session.Append(prompt.data(), prompt.size());
      if (repeat == 0) continue;
      row.prefill_s = std::min(row.prefill_s, Millis(start, Clock::now()) / 1e3);
      row.prefill_cpu_s = std::min(row.prefill_cpu_s, ProcessCpuSeconds() - cpu);
    }
    const double flops = row.flops_per_token * double(T);
    row.prefill_gflops = flops / row.prefill_s / 1e9;
    row.prefill_cpu_gflops = flops / row.prefill_cpu_s / 1e9;

    log(fmt::format("{}: {} decode steps at a context of {} tokens", name, options.decode_steps, T));
    llm::LlmSession session(model);
    std::vector<float> logits = session.Append(prompt.data(), prompt.size());
    std::vector<double> step_ms, cpu_ms;
    for (size_t s = 0; s < options.decode_steps; ++s) {
      const int32_t id = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
      const double cpu = ProcessCpuSeconds();
      const auto start = Clock::now();
      logits = session.Append(&id, 1);
      step_ms.push_back(Millis(start, Clock::now()));
      cpu_ms.push_back((ProcessCpuSeconds() - cpu) * 1e3);
    }
    std::sort(step_ms.begin(), step_ms.end());
    std::sort(cpu_ms.begin(), cpu_ms.end());
    row.decode_steps = step_ms.size();
    if (!step_ms.empty()) {
      row.decode_ms = step_ms[step_ms.size() / 2];
      row.decode_best_ms = step_ms.front();
      row.decode_cpu_ms = cpu_ms[cpu_ms.size() / 2];
    }
    row.weight_bytes = double(model.weight_bytes());
    const double kv_bytes = double(c.layers * c.kv_heads * c.head_dim) * 2.0 * 4.0 * double(T + row.decode_steps / 2);
    row.decode_bytes = row.weight_bytes + kv_bytes;
    rows.push_back(row);
  }
  return rows;
}

void RateLlmRows(std::vector<LlmBenchRow>& rows, const MachineLimits& limits) {
  for (LlmBenchRow& r : rows) {
    r.prefill_ratio = r.prefill_gflops / limits.fma_gflops_all;
    r.prefill_cpu_ratio = r.prefill_cpu_gflops / limits.fma_gflops_one;
    r.decode_limit_ms = r.decode_bytes / (limits.read_gbps_all * 1e9) * 1e3;
    r.decode_ratio = r.decode_ms / std::max(r.decode_limit_ms, 1e-12);
    r.decode_best_ratio = r.decode_best_ms / std::max(r.decode_limit_ms, 1e-12);
  }
}

void PrintLlmTable(std::FILE* out, const std::vector<LlmBenchRow>& rows) {
  fmt::print(out, "{:>13} {:>5} {:>7} {:>6} {:>10} {:>9} {:>8} {:>6} {:>9} {:>6} {:>9} {:>9} {:>9} {:>10} {:>9} {:>6} {:>6}\n",
             "model", "dtype", "params", "prompt", "prefill", "tokens/s", "GFLOP/s", "ratio", "GF/cpu-s", "ratio",
             "decode", "best", "cpu", "read", "limit", "ratio", "best");
  for (const LlmBenchRow& r : rows) {
    fmt::print(out,
               "{:>13} {:>5} {:>6.1f}M {:>6} {:>10} {:>9.1f} {:>8.1f} {:>6.2f} {:>9.1f} {:>6.2f} {:>6.1f} ms {:>6.1f} ms "
               "{:>6.1f} ms {:>6.1f} MiB {:>6.2f} ms {:>6.2f} {:>6.2f}\n",
               r.model, r.dtype, double(r.parameters) / 1e6, r.prompt_tokens, FormatTime(r.prefill_s),
               double(r.prompt_tokens) / r.prefill_s, r.prefill_gflops, r.prefill_ratio, r.prefill_cpu_gflops,
               r.prefill_cpu_ratio, r.decode_ms, r.decode_best_ms, r.decode_cpu_ms, r.decode_bytes / double(1 << 20),
               r.decode_limit_ms, r.decode_ratio, r.decode_best_ratio);
  }
}

void WriteLlmCsv(const std::string& path, const MachineLimits& limits, const std::vector<LlmBenchRow>& rows) {
  std::ofstream f = OpenCsv(path);
  f << "cpu,target,threads,fma_gflops_one,fma_gflops_all,read_gbps_all,model,dtype,parameters,prompt_tokens,"
       "flops_per_token,prefill_s,prefill_tokens_per_s,prefill_gflops,prefill_ratio,prefill_cpu_s,prefill_cpu_gflops,"
       "prefill_cpu_ratio,decode_steps,decode_ms,decode_best_ms,decode_cpu_ms,weight_bytes,decode_bytes,"
       "decode_limit_ms,decode_ratio,decode_best_ratio\n";
  for (const LlmBenchRow& r : rows) {
    f << Quoted(limits.cpu) << ',' << limits.target << ',' << limits.threads << ',' << limits.fma_gflops_one << ','
      << limits.fma_gflops_all << ',' << limits.read_gbps_all << ',' << r.model << ',' << r.dtype << ','
      << r.parameters << ',' << r.prompt_tokens << ',' << r.flops_per_token << ',' << r.prefill_s << ','
      << double(r.prompt_tokens) / r.prefill_s << ',' << r.prefill_gflops << ',' << r.prefill_ratio << ','
      << r.prefill_cpu_s << ',' << r.prefill_cpu_gflops << ',' << r.prefill_cpu_ratio << ',' << r.decode_steps << ','
      << r.decode_ms << ',' << r.decode_best_ms << ',' << r.decode_cpu_ms << ',' << r.weight_bytes << ','
      << r.decode_bytes << ',' << r.decode_limit_ms << ',' << r.decode_ratio << ',' << r.decode_best_ratio << '\n';
  }
}

}  // namespace landmark::perf
