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

// Device memory of T that only grows (Reserve keeps the contents only when it does not grow).
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { if (data_) cudaFree(data_); }
  T* Reserve(size_t count) {
    if (count > capacity_) {
      if (data_) LANDMARK_CUDA_CHECK(cudaFree(data_));
      data_ = nullptr;
      capacity_ = 0;
      LANDMARK_CUDA_CHECK(cudaMalloc(&data_, count * sizeof(T)));
      capacity_ = count;
    }
    return data_;
  }
  T* get() const { return data_; }
  size_t capacity() const { return capacity_; }

 private:
  T* data_ = nullptr;
  size_t capacity_ = 0;
};

// Page-locked host memory (DMA source/target of asynchronous copies).
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  ~PinnedBuffer() { if (data_) cudaFreeHost(data_); }
  char* Reserve(size_t bytes) {
    if (bytes > capacity_) {
      if (data_) LANDMARK_CUDA_CHECK(cudaFreeHost(data_));
      data_ = nullptr;
      capacity_ = 0;
      LANDMARK_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&data_), bytes));
      capacity_ = bytes;
    }
    return data_;
  }
  char* get() const { return data_; }

 private:
  char* data_ = nullptr;
  size_t capacity_ = 0;
};

// Seconds between two recorded events.
inline double Elapsed(cudaEvent_t start, cudaEvent_t stop) {
  float ms = 0;
  LANDMARK_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  return double(ms) * 1e-3;
}

}  // namespace landmark::cuda
