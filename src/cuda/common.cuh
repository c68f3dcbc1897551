// Shared pieces of the CUDA backend: error checks, element loads for the
// store dtypes, device and pinned buffers that grow on demand.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "landmark/dtype.h"

namespace landmark::cuda {

// Errors become std::runtime_error("cuda: ..."); the core rethrows them as landmark::Error.
inline void Check(cudaError_t status, const char* what, const char* file, int line) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string("cuda: ") + what + ": " + cudaGetErrorString(status) + " (" + file +
                             ":" + std::to_string(line) + ")");
  }
}
#define LANDMARK_CUDA_CHECK(call) ::landmark::cuda::Check((call), #call, __FILE__, __LINE__)

__device__ __forceinline__ float Load(const float* p, size_t i) { return p[i]; }
__device__ __forceinline__ float Load(const __half* p, size_t i) { return __half2float(p[i]); }
__device__ __forceinline__ float Load(const __nv_bfloat16* p, size_t i) { return __bfloat162float(p[i]); }

// Calls f(T*) with T the element type of `dtype` (a null pointer as a tag).
template <class F>
void WithElement(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kF32: return f(static_cast<float*>(nullptr));
    case DType::kF16: return f(static_cast<__half*>(nullptr));
    case DType::kBF16: return f(static_cast<__nv_bfloat16*>(nullptr));
  }
  throw std::runtime_error("cuda: unknown dtype");
}

__device__ __forceinline__ float WarpSum(float x) {
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}
__device__ __forceinline__ float WarpMax(float x) {
  for (int offset = 16; offset > 0; offset >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
  return x;
}

// Memory of T that only grows (Reserve keeps the contents only when it does
// not grow), on the device or page-locked on the host (the DMA source and
// target of asynchronous copies).
struct DeviceMemory {
  static cudaError_t Allocate(void** p, size_t bytes) { return cudaMalloc(p, bytes); }
  static cudaError_t Free(void* p) { return cudaFree(p); }
};
struct PinnedMemory {
  static cudaError_t Allocate(void** p, size_t bytes) { return cudaMallocHost(p, bytes); }
  static cudaError_t Free(void* p) { return cudaFreeHost(p); }
};

template <class T, class Memory>
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { if (data_) Memory::Free(data_); }
  T* Reserve(size_t count) {
    if (count > capacity_) {
      if (data_) LANDMARK_CUDA_CHECK(Memory::Free(data_));
      data_ = nullptr;
      capacity_ = 0;
      LANDMARK_CUDA_CHECK(Memory::Allocate(reinterpret_cast<void**>(&data_), count * sizeof(T)));
      capacity_ = count;
    }
    return data_;
  }
  T* get() const { return data_; }

 private:
  T* data_ = nullptr;
  size_t capacity_ = 0;
};

template <class T>
using DeviceBuffer = Buffer<T, DeviceMemory>;
using PinnedBuffer = Buffer<char, PinnedMemory>;

// Seconds between two recorded events.
inline double Elapsed(cudaEvent_t start, cudaEvent_t stop) {
  float ms = 0;
  LANDMARK_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  return double(ms) * 1e-3;
}

}  // namespace landmark::cuda
