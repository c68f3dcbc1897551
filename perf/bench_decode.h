// `landmark bench decode`: the retrieval engine on synthetic tensor stores
// with planted needles: latency (warm and cold), bytes touched against the
// probed read bandwidth, recall of the needles, and the speedup over dense
// exact decode of the same store, from 128K to 16M tokens.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "landmark/device.h"
#include "src/probe/probe.h"

namespace landmark::perf {

struct DecodeScalingRow;

struct DecodeBenchOptions {
  bool quick = false;               // small stores (seconds), for tests
  std::string dir;                  // scratch directory for the stores
  bool keep = false;                // keep stores and the needle queries (.npy)
  bool cold = true;                 // cold-cache runs (drop_caches; needs root)
  std::vector<size_t> sizes;        // one-kv-head stores (default 128K, 1M, 4M, 16M)
  bool headline = true;             // plus n = 1M, H_kv 8, G 4, d 128
  size_t needles = 8;               // planted needles (one query each)
  size_t top_k = 64;
  // kCuda: also the GPU retriever, K/V resident and streamed, one query and
  // batches of gpu_batch (the CPU figures are measured in the same run).
  Device device = Device::kCpu;
  size_t gpu_batch = 64;
  // Scaling (each on the 1M one-kv-head store and the headline store):
  std::vector<size_t> thread_sweep;  // warm latency at each thread count, vs the read bandwidth of as many threads
  std::vector<size_t> streams;       // N concurrent query streams on one shared store: queries/s, vs all threads' bandwidth
  std::vector<size_t> gpu_batches;   // CUDA: resident decode of batches of each size, vs HBM
  double hbm_gbps = 0;               // CUDA: the probed HBM bandwidth (ProbeGpu), for gpu_batches
  // Filled with those rows (nullptr: not measured).
  std::vector<DecodeScalingRow>* scaling = nullptr;
};

// One point of a scaling sweep: `kind` "threads" (one query at a time on
// `threads` threads), "streams" (`streams` concurrent queries on every
// thread) or "gpu-batch" (a batch of `streams` queries on the GPU).
struct DecodeScalingRow {
  std::string config, kind;
  size_t tokens = 0, threads = 0, streams = 0;
  double ms_per_query = 0;   // latency (threads), or wall time ÷ queries (streams, gpu-batch)
  double queries_per_s = 0;
  double bytes = 0;          // per query
  double limit_gbps = 0;     // read bandwidth probed with `threads` threads, or HBM
  double limit_ms = 0;       // bytes ÷ limit
  double ratio() const { return ms_per_query > 0 ? limit_ms / ms_per_query : 0; }
};
void PrintDecodeScalingTable(std::FILE* out, const std::vector<DecodeScalingRow>& rows);
void WriteDecodeScalingCsv(const std::string& path, const std::string& machine, const std::vector<DecodeScalingRow>& rows);

// The GPU's limits, probed in the same run (CUDA benches only).
struct GpuBenchLimits {
  std::string gpu;           // e.g. "NVIDIA H100 80GB HBM3"
  double hbm_gbps = 0;       // device-to-device copy (read + write)
  double h2d_gbps = 0;       // pinned host -> device (PCIe)
  double fma_gflops = 0;     // f32 FMA on the CUDA cores
  double bf16_gflops = 0;    // bf16 mma.sync m16n8k16 (tensor cores)
};
// Throws landmark::Error when CUDA is unavailable.
GpuBenchLimits ProbeGpu();
void PrintGpu(std::FILE* out, const GpuBenchLimits& limits);
// "nvidia-h100-80gb-hbm3": the GPU's name for file names.
std::string GpuSlug(const std::string& name);

struct DecodeBenchRow {
  std::string config;               // "1 kv head" or "headline"
  size_t tokens = 0, kv_heads = 0, group = 0, d = 0;
  double warm_ms = 0, cold_ms = 0;  // median over the needle queries (cold: 0 if not run)
  double bytes = 0;                 // landmarks scored + K/V attended, per query
  double landmark_bytes = 0;        // of which landmarks
  double limit_ms = 0;              // bytes / probed read bandwidth (all threads)
  double dense_ms = 0;              // dense exact decode of the whole store
  double recall = 0;                // planted needle chunks in the top-k
  std::string store;                // path (with keep)
  // CUDA (0 when not run): median per query over the needles.
  double gpu_resident_ms = 0, gpu_stream_ms = 0, gpu_batch_ms = 0;  // batch: per query, K/V resident
  double gpu_recall = 0;
  double gpu_max_diff = 0;          // max |out_gpu - out_cpu| over the needle queries
  double kv_bytes = 0;              // K/V attended per query (streamed over PCIe when not resident)
};

std::vector<DecodeBenchRow> BenchDecode(const MachineLimits& limits, const DecodeBenchOptions& options,
                                        const std::function<void(const std::string&)>& progress);

void PrintDecodeTable(std::FILE* out, const std::vector<DecodeBenchRow>& rows);
void WriteDecodeCsv(const std::string& path, const MachineLimits& limits, const std::vector<DecodeBenchRow>& rows);
// CUDA rows: resident time vs HBM, streamed time vs PCIe, speedups over the CPU.
void PrintDecodeGpuTable(std::FILE* out, const GpuBenchLimits& gpu, const std::vector<DecodeBenchRow>& rows);
void WriteDecodeGpuCsv(const std::string& path, const MachineLimits& limits, const GpuBenchLimits& gpu,
                       const std::vector<DecodeBenchRow>& rows);

}  // namespace landmark::perf
