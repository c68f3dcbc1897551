// Where the engine runs: the CPU, or an NVIDIA GPU through the CUDA backend.
// The CUDA backend is a separate shared library (liblandmark_cuda.so, built
// with -DLANDMARK_CUDA=ON) loaded on first use, so a CPU build, or a CUDA
// build on a machine without a GPU or driver, never needs the CUDA runtime.
//   auto  the GPU when the backend was built, loads and sees a GPU; else the CPU
//   cpu   always the CPU
//   cuda  the GPU, or landmark::Error saying why not
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace landmark {

enum class Device : uint8_t { kAuto = 0, kCpu = 1, kCuda = 2 };
const char* Name(Device device);               // "auto" | "cpu" | "cuda"
Device ParseDevice(std::string_view name);     // throws landmark::Error otherwise

struct GpuInfo {
  int index = 0;
  std::string name;                // e.g. "NVIDIA H100 80GB HBM3"
  int major = 0, minor = 0;        // compute capability
  int multiprocessors = 0;
  size_t memory_bytes = 0;         // total device memory
  size_t shared_memory_per_block = 0;  // opt-in maximum, bytes
};

struct DeviceReport {
  bool cuda_built = false;     // configured with -DLANDMARK_CUDA=ON
  bool cuda_loaded = false;    // the backend library was found and loaded
  std::string cuda_library;    // its path (when loaded)
  std::string cuda_status;     // why CUDA is unavailable ("" when it is)
  std::string cuda_runtime;    // e.g. "CUDA runtime 13.0, driver 13.0"
  std::vector<GpuInfo> gpus;
  Device auto_choice = Device::kCpu;  // what kAuto resolves to
  std::string ToText() const;         // for `landmark info --devices`
  std::string ToJson() const;         // for `landmark info --devices --json`
};

// Probes once per process (loads the backend, counts GPUs); cheap afterwards.
const DeviceReport& Devices();

// kAuto -> kCuda or kCpu; kCuda when unavailable -> landmark::Error naming the
// reason (not built, library not found, no GPU visible).
Device ResolveDevice(Device requested);

}  // namespace landmark
