// Test helpers for file inputs: temporary directories and file writers.
#pragma once

#include <cstdint>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "landmark/dtype.h"
#include "tests/temp_dir.h"

namespace landmark::test {

// ReadFile, WriteFile: tests/temp_dir.h.

// A .safetensors file: tensors given as (name, dtype string, shape, raw bytes).
struct SafetensorsTensor {
  std::string name, dtype;
  std::vector<size_t> shape;
  std::string bytes;
};

inline std::string SafetensorsBytes(const std::vector<SafetensorsTensor>& tensors, const std::string& metadata = "") {
  std::string header = "{", data;
  if (!metadata.empty()) header += "\"__metadata__\":" + metadata + ",";
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    std::string shape;
    for (size_t k = 0; k < t.shape.size(); ++k) shape += (k ? "," : "") + std::to_string(t.shape[k]);
    header += (i ? "," : "") + std::string("\"") + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[" + shape +
              "],\"data_offsets\":[" + std::to_string(data.size()) + "," + std::to_string(data.size() + t.bytes.size()) + "]}";
    data += t.bytes;
  }
  header += "}";
  while ((8 + header.size()) % 8) header += ' ';
  const uint64_t n = header.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

template <typename T>
std::string RawBytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

}  // namespace landmark::test
