// The CUDA backend library's entry point: GPUs, the machine probe (HBM,
// PCIe, FMA peak) and the factories of the decode and prefill paths.

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "src/cuda/common.cuh"
#include "src/cuda/kernels.h"

namespace landmark::cuda {
namespace {

// Independent FMA chains per thread (latency hidden by ILP and occupancy).
constexpr int kChains = 8;
__global__ void FmaKernel(float* out, int iterations, float a, float b) {
  float x[kChains];
  for (int c = 0; c < kChains; ++c) x[c] = float(threadIdx.x + c);
  for (int i = 0; i < iterations; ++i) {
#pragma unroll
    for (int c = 0; c < kChains; ++c) x[c] = fmaf(x[c], a, b);
  }
  float sum = 0;
  for (int c = 0; c < kChains; ++c) sum += x[c];
  if (sum == 12345.678f) out[0] = sum;  // keeps the chains alive
}

// bf16 mma.sync m16n8k16 (f32 accumulate) throughput: 8 independent
// accumulators per warp, operands in registers (non-zero bit patterns).
constexpr int kMmaChains = 8;
__global__ void MmaKernel(float* out, int iterations) {
  const uint32_t a[4] = {0x3f813f82u ^ threadIdx.x, 0x3f833f84u, 0x3f853f86u ^ (threadIdx.x << 16), 0x3f873f88u};
  const uint32_t b[2] = {0x3f893f8au ^ threadIdx.x, 0x3f8b3f8cu};
  float c[kMmaChains][4] = {};
  for (int i = 0; i < iterations; ++i) {
#pragma unroll
    for (int j = 0; j < kMmaChains; ++j) {
      asm volatile(
          "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
          "{%0,%1,%2,%3};\n"
          : "+f"(c[j][0]), "+f"(c[j][1]), "+f"(c[j][2]), "+f"(c[j][3])
          : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
  }
  float sum = 0;
  for (int j = 0; j < kMmaChains; ++j) sum += c[j][0] + c[j][1] + c[j][2] + c[j][3];
  if (sum == 12345.678f) out[0] = sum;
}

class Backend final : public backend::Backend {
 public:
  std::string Runtime() const override {
    int runtime = 0, driver = 0;
    cudaRuntimeGetVersion(&runtime);
    cudaDriverGetVersion(&driver);
    return "CUDA runtime " + std::to_string(runtime / 1000) + "." + std::to_string(runtime % 1000 / 10) +
           " (static), driver " + std::to_string(driver / 1000) + "." + std::to_string(driver % 1000 / 10);
  }

  std::vector<GpuInfo> Gpus() const override {
    std::vector<GpuInfo> gpus;
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) return gpus;
    for (int i = 0; i < count; ++i) {
      cudaDeviceProp p{};
      if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
      GpuInfo g;
      g.index = i;
      g.name = p.name;
      g.major = p.major;
      g.minor = p.minor;
      g.multiprocessors = p.multiProcessorCount;
      g.memory_bytes = p.totalGlobalMem;
      g.shared_memory_per_block = p.sharedMemPerBlockOptin;
      gpus.push_back(g);
    }
    return gpus;
  }

  std::unique_ptr<backend::Decoder> CreateDecoder(const backend::DecodeStore& store,
                                                  const backend::DecodeOptions& options) override {
    return MakeDecoder(store, options);
  }

  backend::PrefillTimings Prefill(const backend::PrefillProblem& problem, int gpu) override {
    return RunPrefill(problem, gpu);
  }

  size_t FreeMemory(int gpu) override {
    LANDMARK_CUDA_CHECK(cudaSetDevice(gpu));
    size_t free = 0, total = 0;
    LANDMARK_CUDA_CHECK(cudaMemGetInfo(&free, &total));
    return free;
  }

  // Best of several timed copies / kernel runs, CUDA events around each.
  backend::GpuLimits Probe(int gpu) override {
    LANDMARK_CUDA_CHECK(cudaSetDevice(gpu));
    backend::GpuLimits limits;
    cudaEvent_t start, stop;
    LANDMARK_CUDA_CHECK(cudaEventCreate(&start));
    LANDMARK_CUDA_CHECK(cudaEventCreate(&stop));
    auto best = [&](auto&& run) {
      double seconds = 1e30;
      for (int i = 0; i < 6; ++i) {
        LANDMARK_CUDA_CHECK(cudaEventRecord(start));
        run();
        LANDMARK_CUDA_CHECK(cudaEventRecord(stop));
        LANDMARK_CUDA_CHECK(cudaEventSynchronize(stop));
        if (i > 0) seconds = std::min(seconds, Elapsed(start, stop));  // the first warms up
      }
      return seconds;
    };
    {
      const size_t bytes = size_t(1) << 30;
      DeviceBuffer<char> a, b;
      a.Reserve(bytes);
      b.Reserve(bytes);
      LANDMARK_CUDA_CHECK(cudaMemset(a.get(), 1, bytes));
      const double s = best([&] { LANDMARK_CUDA_CHECK(cudaMemcpy(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice)); });
      limits.hbm_gbps = 2.0 * double(bytes) / s / 1e9;  // read + write
    }
    {
      const size_t bytes = size_t(256) << 20;
      DeviceBuffer<char> a;
      PinnedBuffer host;
      a.Reserve(bytes);
      std::memset(host.Reserve(bytes), 1, bytes);
      limits.h2d_gbps = double(bytes) / best([&] {
        LANDMARK_CUDA_CHECK(cudaMemcpy(a.get(), host.get(), bytes, cudaMemcpyHostToDevice));
      }) / 1e9;
      limits.d2h_gbps = double(bytes) / best([&] {
        LANDMARK_CUDA_CHECK(cudaMemcpy(host.get(), a.get(), bytes, cudaMemcpyDeviceToHost));
      }) / 1e9;
    }
    {
      cudaDeviceProp p{};
      LANDMARK_CUDA_CHECK(cudaGetDeviceProperties(&p, gpu));
      const int threads = 256, blocks = p.multiProcessorCount * 8, iterations = 65536;
      DeviceBuffer<float> sink;
      sink.Reserve(1);
      const double s = best([&] { FmaKernel<<<blocks, threads>>>(sink.get(), iterations, 0.999f, 0.001f); });
      LANDMARK_CUDA_CHECK(cudaGetLastError());
      limits.fma_gflops = 2.0 * double(blocks) * threads * iterations * kChains / s / 1e9;
      const int mma_blocks = p.multiProcessorCount * 4, mma_iterations = 16384;
      const double mma_s = best([&] { MmaKernel<<<mma_blocks, threads>>>(sink.get(), mma_iterations); });
      LANDMARK_CUDA_CHECK(cudaGetLastError());
      // Per warp and mma: 16 × 8 × 16 multiply-adds.
      limits.bf16_mma_gflops = 2.0 * 16 * 8 * 16 * double(mma_blocks) * (threads / 32) * mma_iterations * kMmaChains / mma_s / 1e9;
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return limits;
  }
};

}  // namespace
}  // namespace landmark::cuda

// The one exported symbol (backend::kCreateBackendSymbol). Fails softly: no
// driver, no GPU or an ABI mismatch give nullptr and a reason.
extern "C" __attribute__((visibility("default"))) landmark::backend::Backend* landmark_cuda_create_backend(
    int abi, char* error, size_t error_size) {
  if (abi != landmark::backend::kCudaBackendAbi) {
    std::snprintf(error, error_size, "liblandmark_cuda.so has interface version %d, the core expects %d (rebuild both)",
                  landmark::backend::kCudaBackendAbi, abi);
    return nullptr;
  }
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    std::snprintf(error, error_size, "the CUDA runtime found no usable GPU: %s", cudaGetErrorString(status));
    return nullptr;
  }
  static landmark::cuda::Backend backend;
  return &backend;
}
