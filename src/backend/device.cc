// Device choice and the CUDA backend loader: dlopen liblandmark_cuda.so from
// $LANDMARK_CUDA_BACKEND, beside liblandmark / the executable (../lib, .),
// or the loader's search path; then ask it for the GPUs.

#include <dlfcn.h>
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "landmark/device.h"
#include "landmark/error.h"
#include "src/backend/cuda_backend.h"

namespace landmark {
namespace {

namespace fs = std::filesystem;
constexpr const char* kLibrary = "liblandmark_cuda.so";

struct Loaded {
  DeviceReport report;
  backend::Backend* backend = nullptr;
};

// Where the library may be, most specific first.
std::vector<std::string> Candidates() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("LANDMARK_CUDA_BACKEND"); env && *env) paths.push_back(env);
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&Devices), &info) && info.dli_fname) {
    const fs::path self = fs::path(info.dli_fname).parent_path();
    paths.push_back((self / kLibrary).string());
    paths.push_back((self / ".." / "lib" / kLibrary).string());
  }
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    paths.push_back((exe.parent_path() / kLibrary).string());
    paths.push_back((exe.parent_path() / ".." / "lib" / kLibrary).string());
  }
  paths.push_back(kLibrary);  // LD_LIBRARY_PATH, rpath, ld.so.cache
  return paths;
}

Loaded Load() {
  Loaded loaded;
  DeviceReport& r = loaded.report;
#if LANDMARK_CUDA_BUILT
  r.cuda_built = true;
#endif
  if (const char* off = std::getenv("LANDMARK_NO_CUDA"); off && *off && std::string(off) != "0") {
    r.cuda_status = "disabled by LANDMARK_NO_CUDA";
    return loaded;
  }
  std::string tried;
  void* handle = nullptr;
  for (const std::string& path : Candidates()) {
    if (path != kLibrary && !fs::exists(path)) continue;
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle) {
      std::error_code error;
      const fs::path canonical = fs::weakly_canonical(path, error);
      r.cuda_library = error ? path : canonical.string();
      break;
    }
    const char* why = dlerror();
    if (path != kLibrary || tried.empty()) tried += fmt::format("; {}: {}", path, why ? why : "?");
  }
  if (!handle) {
    r.cuda_status = r.cuda_built ? "the CUDA backend " + std::string(kLibrary) + " could not be loaded" + tried
                                 : "this landmark was built without CUDA (configure with -DLANDMARK_CUDA=ON)";
    return loaded;
  }
  r.cuda_loaded = true;
  auto create = reinterpret_cast<backend::CreateBackendFn>(dlsym(handle, backend::kCreateBackendSymbol));
  if (!create) {
    r.cuda_status = r.cuda_library + ": no symbol " + backend::kCreateBackendSymbol;
    return loaded;
  }
  char error[512] = {0};
  loaded.backend = create(backend::kCudaBackendAbi, error, sizeof(error));
  if (!loaded.backend) {
    r.cuda_status = error[0] ? error : "the CUDA backend did not start";
    return loaded;
  }
  r.cuda_runtime = loaded.backend->Runtime();
  r.gpus = loaded.backend->Gpus();
  if (r.gpus.empty()) {
    r.cuda_status = "no GPU visible to the CUDA runtime";
    loaded.backend = nullptr;
    return loaded;
  }
  r.auto_choice = Device::kCuda;
  return loaded;
}

Loaded& State() {
  static Loaded loaded = Load();
  return loaded;
}

}  // namespace

const DeviceReport& Devices() { return State().report; }

Device ResolveDevice(Device requested) {
  if (requested == Device::kCpu) return Device::kCpu;
  const DeviceReport& r = Devices();
  if (requested == Device::kAuto) return r.auto_choice;
  LANDMARK_CHECK_ARG(r.auto_choice == Device::kCuda, "device cuda: CUDA is not available: " + r.cuda_status);
  return Device::kCuda;
}

std::string DeviceReport::ToText() const {
  std::string s = "cpu: available (always)\n";
  s += fmt::format("cuda: {}\n", auto_choice == Device::kCuda ? "available" : "unavailable: " + cuda_status);
  s += fmt::format("  backend: {}{}\n", cuda_built ? "built" : "not built",
                   cuda_loaded ? ", loaded from " + cuda_library : "");
  if (!cuda_runtime.empty()) s += "  " + cuda_runtime + "\n";
  for (const GpuInfo& g : gpus) {
    s += fmt::format("  gpu {}: {} (sm_{}{}, {} SMs, {:.1f} GiB)\n", g.index, g.name, g.major, g.minor,
                     g.multiprocessors, double(g.memory_bytes) / double(size_t(1) << 30));
  }
  s += fmt::format("auto picks: {}\n", Name(auto_choice));
  return s;
}

std::string DeviceReport::ToJson() const {
  nlohmann::json gpu_list = nlohmann::json::array();
  for (const GpuInfo& g : gpus) {
    gpu_list.push_back({{"index", g.index}, {"name", g.name}, {"compute_capability", fmt::format("{}.{}", g.major, g.minor)},
                        {"multiprocessors", g.multiprocessors}, {"memory_bytes", g.memory_bytes}});
  }
  const nlohmann::json j = {{"cpu", {{"available", true}}},
                            {"cuda",
                             {{"available", auto_choice == Device::kCuda},
                              {"status", cuda_status},
                              {"built", cuda_built},
                              {"loaded", cuda_loaded},
                              {"library", cuda_library},
                              {"runtime", cuda_runtime},
                              {"gpus", gpu_list}}},
                            {"auto", Name(auto_choice)}};
  return j.dump(2);
}

namespace backend {

Backend* CudaBackend() { return State().backend; }

}  // namespace backend
}  // namespace landmark
