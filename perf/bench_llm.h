// `landmark bench llm`: pretrained-LLM inference with the dense KV cache on
// random models of real shapes (written once, deterministically, into a
// cache directory in the Hugging Face layout): prefill throughput as FLOPs
// against the probed FMA peak, decode time per token against the bytes it
// must read (the weights, the KV cache) over the probed read bandwidth.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "landmark/llm.h"
#include "landmark/probe.h"

namespace landmark::perf {

// The benchmark's models by name: "tiny" (Llama shape, 4 × 256, f32) and
// "qwen2.5-0.5b" (Qwen2.5-0.5B's shape: 24 layers, hidden 896, 14 query / 2
// kv heads of 64, MLP 4864, vocab 151936, tied, bf16).
std::vector<std::string> LlmBenchModelNames();
llm::LlmConfig LlmBenchConfig(const std::string& name, DType* dtype);

// The random model `name` under `cache_dir` (written the first time; reused
// when its config and weights are there). Returns its directory.
std::string PrepareRandomLlm(const std::string& cache_dir, const std::string& name, uint64_t seed,
                             const std::function<void(const std::string&)>& log);

struct LlmBenchOptions {
  std::vector<std::string> models;  // default: every LlmBenchModelNames()
  std::string cache_dir;            // default: ~/.cache/landmark/bench-llm
  size_t prompt_tokens = 512;       // prefill length (also the decode context)
  size_t decode_steps = 16;
  uint64_t seed = 1;
};

struct LlmBenchRow {
  std::string model, dtype;
  uint64_t parameters = 0;
  size_t prompt_tokens = 0;
  double flops_per_token = 0;  // the layers' matmuls (+ one LM head row) + causal attention
  double prefill_s = 0;        // best of the repeats, wall
  double prefill_gflops = 0, prefill_ratio = 0;  // ÷ the FMA peak (f32, all threads)
  // Contention-proof: the FLOPs ÷ the CPU time of the least costly repeat
  // (every thread), against one thread's FMA peak.
  double prefill_cpu_s = 0, prefill_cpu_gflops = 0, prefill_cpu_ratio = 0;
  size_t decode_steps = 0;
  double decode_ms = 0, decode_best_ms = 0;  // median and fastest step, at a context of prompt_tokens
  double decode_cpu_ms = 0;                  // median CPU time per step (every thread)
  double decode_bytes = 0;    // weights (LM head included) + K/V read per token
  double weight_bytes = 0;
  double decode_limit_ms = 0;  // decode_bytes ÷ read bandwidth (all threads)
  double decode_ratio = 0;     // decode_ms ÷ decode_limit_ms (target ≤ 1.5)
  double decode_best_ratio = 0;  // decode_best_ms ÷ decode_limit_ms (other load only slows steps down)
};

std::vector<LlmBenchRow> BenchLlm(const LlmBenchOptions& options, const std::function<void(const std::string&)>& log);
void RateLlmRows(std::vector<LlmBenchRow>& rows, const MachineLimits& limits);
void PrintLlmTable(std::FILE* out, const std::vector<LlmBenchRow>& rows);
void WriteLlmCsv(const std::string& path, const MachineLimits& limits, const std::vector<LlmBenchRow>& rows);

}  // namespace landmark::perf
