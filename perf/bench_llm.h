// `landmark bench llm`: pretrained-LLM inference with the dense KV cache on
// random models of real shapes (written once, deterministically, into a
// cache directory in the Hugging Face layout): prefill throughput as FLOPs
// against the probed FMA peak, decode time per token against the bytes it
// must read (the weights, the KV cache) over the probed read bandwidth.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "landmark/llm.h"
#include "src/probe/probe.h"

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
  // Store-backed decode (BenchLlmStore): these shapes over a synthetic store
  // of store_tokens tokens (every layer's K/V, f16, S = 64; written once).
  std::vector<std::string> store_models = {"tiny"};
  size_t store_tokens = size_t(1) << 20;
  size_t question_tokens = 16;  // prefilled before the decode steps
  size_t dense_steps = 3;       // dense exact attention passes timed (each reads the whole store)
};

// ~/.cache/landmark/bench-llm
std::string DefaultLlmBenchCache();

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

// One model over one store: decode with retrieval attention (sinks + top-k
// chunks + local window, the answerer's defaults) against dense exact
// attention over every stored token; each against its bytes ÷ bandwidth.
struct LlmStoreBenchRow {
  std::string model;
  size_t store_tokens = 0, question_tokens = 0, top_k = 0, window = 0, sinks = 0;
  double kv_bytes = 0, weight_bytes = 0;
  double question_s = 0;  // the question's prefill over the store (retrieval attention)
  double sparse_ms = 0, sparse_best_ms = 0;  // median and best decode step, retrieval attention
  // Dense exact decode: the step without attention + exact attention of
  // every layer's query heads over all stored K/V (DenseDecodeOverStore:
  // f16 straight from the store, as a dense f16 KV cache would be read).
  double dense_ms = 0;
  double sparse_bytes = 0, dense_bytes = 0;  // read per step: weights + landmarks + attended K/V; weights + all K/V
  double sparse_limit_ms = 0, dense_limit_ms = 0, sparse_ratio = 0, dense_ratio = 0;
  double speedup = 0;  // dense_ms ÷ sparse_ms
};

std::vector<LlmStoreBenchRow> BenchLlmStore(const LlmBenchOptions& options,
                                            const std::function<void(const std::string&)>& log);
void RateLlmStoreRows(std::vector<LlmStoreBenchRow>& rows, const MachineLimits& limits);
void PrintLlmStoreTable(std::FILE* out, const std::vector<LlmStoreBenchRow>& rows);
void WriteLlmStoreCsv(const std::string& path, const MachineLimits& limits, const std::vector<LlmStoreBenchRow>& rows);

std::vector<LlmBenchRow> BenchLlm(const LlmBenchOptions& options, const std::function<void(const std::string&)>& log);
void RateLlmRows(std::vector<LlmBenchRow>& rows, const MachineLimits& limits);
void PrintLlmTable(std::FILE* out, const std::vector<LlmBenchRow>& rows);
void WriteLlmCsv(const std::string& path, const MachineLimits& limits, const std::vector<LlmBenchRow>& rows);

}  // namespace landmark::perf
