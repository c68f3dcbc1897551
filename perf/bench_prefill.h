// `landmark bench prefill`: block-sparse prefill policies against the dense
// kernel on seeded structured inputs (testing/synthetic_prefill.h): time, mask
// density, FLOP rate on the computed blocks against the FMA peak, speedup
// over dense, and accuracy against dense (relative L2 error, minimum cosine,
// planted keys kept).
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "landmark/device.h"
#include "src/probe/probe.h"

namespace landmark::perf {

struct PrefillBenchOptions {
  bool quick = false;                 // short sequences (seconds, for tests and CI)
  std::vector<size_t> lengths;        // empty: 4K, 16K, 64K, 128K (quick: 512, 2048)
  std::vector<std::string> patterns;  // empty: random, sink, local, slash, mixture
  // Empty: PrefillBenchPolicies(), flashprefill-alpha only up to 16K tokens.
  std::vector<std::string> policies;
  size_t q_heads = 4, kv_heads = 1, d = 128, block = 64;
  size_t sample_blocks = 32;          // query blocks compared with dense (spread evenly)
  Device device = Device::kCpu;       // kCuda: every row also on the GPU (same masks)
  bool gpu_tensor_cores = false;      // kCuda: the bf16 tensor-core kernel (SparsePrefillOptions)
  bool gpu_mask = false;              // kCuda: flashprefill's mask found on the GPU (SparsePrefillOptions)
};

// The suite's default policies: FlashPrefill with its defaults (δ = 4) and
// with δ = 5, "flashprefill-alpha" (α-form threshold), DMA with its defaults
// (value-norm importance) and "dma-qk" (pooled q·k importance). A policy is
// "name[:key=value]...": delta, alpha, vertical, slash, sparsity, window,
// stride, dilation change a parameter, e.g. "dma:sparsity=0.8".
const std::vector<std::string>& PrefillBenchPolicies();

struct PrefillBenchResult {
  size_t tokens = 0;
  std::string pattern, policy, shape;
  double density = 0;            // selected blocks / causal blocks
  double flops = 0;              // 4·d·G·(attended query-key pairs): the computed blocks
  double mask_seconds = 0;       // pattern discovery
  double attention_seconds = 0;  // block-sparse kernel
  double dense_seconds = 0;      // the dense kernel on the same shape (same run)
  double rel_l2 = 0;             // ‖O − O_dense‖ / ‖O_dense‖ over the sampled query blocks
  double min_cosine = 0;         // min over sampled (position, head) rows
  double recall = 0;             // planted key blocks kept (NaN: none planted)
  // CUDA (0 when not run): discovery (CPU) + GPU attention with its copies,
  // the GPU kernel alone, and its error against the CPU dense reference.
  double gpu_seconds = 0, gpu_kernel_seconds = 0, gpu_dense_kernel_seconds = 0;
  double gpu_rel_l2 = 0, gpu_min_cosine = 0;
  // gpu_mask: the mask kernels' time and the blocks where the GPU's mask
  // differs from the CPU's (f32 rounding of the pooled logits).
  double gpu_mask_seconds = 0;
  size_t gpu_mask_differs = 0;
  double seconds() const { return mask_seconds + attention_seconds; }
  double speedup() const { return dense_seconds / seconds(); }
};

std::vector<PrefillBenchResult> BenchPrefill(const PrefillBenchOptions& options,
                                             const std::function<void(const std::string&)>& progress);

// Table: per length, pattern and policy, with the FMA peak (all threads) as the limit.
void PrintPrefillTable(std::FILE* out, const MachineLimits& limits,
                       const std::vector<PrefillBenchResult>& results);
void WritePrefillCsv(const std::string& path, const MachineLimits& limits,
                     const std::vector<PrefillBenchResult>& results);
// CUDA rows: the GPU kernel's FLOP rate against the probed f32 FMA peak,
// speedups over the CPU (same policy, same run) and over the GPU dense kernel.
void PrintPrefillGpuTable(std::FILE* out, const std::string& gpu, double gpu_fma_gflops,
                          const std::vector<PrefillBenchResult>& results);
void WritePrefillGpuCsv(const std::string& path, const MachineLimits& limits, const std::string& gpu,
                        double gpu_fma_gflops, double h2d_gbps, const std::vector<PrefillBenchResult>& results);

}  // namespace landmark::perf
