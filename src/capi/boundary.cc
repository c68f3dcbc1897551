// The C boundary: status names, the thread-local last error, versions, and
// Guard, which turns every exception into a status code.
#include <algorithm>
#include <new>
#include <system_error>

#include "landmark/error.h"
#include "landmark/version.h"
#include "src/capi/capi.h"

namespace landmark::capi {
namespace {
thread_local std::string last_error;
}  // namespace

void Fail(landmark_status status, const std::string& message) { throw Failure{status, message}; }

landmark_status SetError(landmark_status status, const std::string& message) {
  try {
    last_error = message;
  } catch (...) {  // out of memory for the message itself
    last_error.clear();
  }
  return status;
}

landmark_status GuardImpl(landmark_status library_status, void (*body)(void*), void* context,
                          const char* function) noexcept {
  try {
    body(context);
    return LANDMARK_OK;
  } catch (const Failure& f) {
    return SetError(f.status, f.message);
  } catch (const Error& e) {
    return SetError(library_status, e.what());
  } catch (const std::bad_alloc&) {
    return SetError(LANDMARK_ERROR_OUT_OF_MEMORY, std::string("out of memory while running ") + function);
  } catch (const std::system_error& e) {  // includes std::filesystem errors
    return SetError(LANDMARK_ERROR_IO, e.what());
  } catch (const std::exception& e) {
    return SetError(LANDMARK_ERROR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return SetError(LANDMARK_ERROR_INTERNAL, "internal error: unknown exception");
  }
}

DType DTypeFromC(int dtype, const char* what) {
  switch (dtype) {
    case LANDMARK_F32: return DType::kF32;
    case LANDMARK_F16: return DType::kF16;
    case LANDMARK_BF16: return DType::kBF16;
  }
  Fail(LANDMARK_ERROR_INVALID_ARGUMENT, std::string(what) + ": unknown dtype " + std::to_string(dtype));
}

LandmarkKind KindFromC(int kind, const char* what) {
  switch (kind) {
    case LANDMARK_KIND_LEARNED: return LandmarkKind::kLearned;
    case LANDMARK_KIND_MEAN: return LandmarkKind::kMean;
    case LANDMARK_KIND_MINMAX: return LandmarkKind::kMinMax;
  }
  Fail(LANDMARK_ERROR_INVALID_ARGUMENT, std::string(what) + ": unknown landmark kind " + std::to_string(kind));
}

void CopyOut(const std::string& text, char* buffer, size_t capacity, size_t* length) {
  if (length) *length = text.size();
  if (capacity == 0) return;
  NotNull(buffer, "buffer");
  const size_t n = std::min(text.size(), capacity - 1);
  std::memcpy(buffer, text.data(), n);
  buffer[n] = '\0';
}

Device DeviceFromC(int device, const char* what) {
  switch (device) {
    case LANDMARK_DEVICE_AUTO: return Device::kAuto;
    case LANDMARK_DEVICE_CPU: return Device::kCpu;
    case LANDMARK_DEVICE_CUDA: return Device::kCuda;
  }
  Fail(LANDMARK_ERROR_INVALID_ARGUMENT, std::string(what) + ": unknown device " + std::to_string(device));
}

landmark_device ToC(Device device) {
  return device == Device::kCuda ? LANDMARK_DEVICE_CUDA : device == Device::kCpu ? LANDMARK_DEVICE_CPU
                                                                                  : LANDMARK_DEVICE_AUTO;
}

}  // namespace landmark::capi

extern "C" {

const char* landmark_status_name(landmark_status status) {
  switch (landmark::capi::Raw(status)) {
    case LANDMARK_OK: return "LANDMARK_OK";
    case LANDMARK_ERROR_NULL_ARGUMENT: return "LANDMARK_ERROR_NULL_ARGUMENT";
    case LANDMARK_ERROR_INVALID_ARGUMENT: return "LANDMARK_ERROR_INVALID_ARGUMENT";
    case LANDMARK_ERROR_CLOSED: return "LANDMARK_ERROR_CLOSED";
    case LANDMARK_ERROR_IO: return "LANDMARK_ERROR_IO";
    case LANDMARK_ERROR_CONFIG: return "LANDMARK_ERROR_CONFIG";
    case LANDMARK_ERROR_CANCELLED: return "LANDMARK_ERROR_CANCELLED";
    case LANDMARK_ERROR_OUT_OF_MEMORY: return "LANDMARK_ERROR_OUT_OF_MEMORY";
    case LANDMARK_ERROR_INTERNAL: return "LANDMARK_ERROR_INTERNAL";
  }
  return "LANDMARK_ERROR_UNKNOWN";
}

const char* landmark_last_error(void) { return landmark::capi::last_error.c_str(); }
int landmark_api_version(void) { return LANDMARK_API_VERSION; }
const char* landmark_version(void) { return LANDMARK_VERSION_STRING; }

}  // extern "C"
