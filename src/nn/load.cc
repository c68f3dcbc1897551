// Model weights by tensor name from a .safetensors file, checked.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "landmark/error.h"
#include "src/io/safetensors.h"
#include "src/kernels/kernels.h"
#include "src/nn/nn.h"

namespace landmark {
namespace {

void CheckFinite(const TensorView& t, const float* values, size_t n) {
  for (size_t i = 0; i < n; ++i) LANDMARK_CHECK_ARG(std::isfinite(values[i]), t.name + ": holds a non-finite value");
}

}  // namespace

std::vector<float> LoadValues(const SafeTensors& file, const std::string& name, const std::vector<size_t>& shape) {
  const TensorView& t = file.Get(name, shape);
  std::vector<float> out(t.elements);
  ConvertToF32(t.data, t.dtype, t.elements, out.data());
  CheckFinite(t, out.data(), out.size());
  return out;
}

Linear LoadStackedLinear(const SafeTensors& file, const std::vector<std::string>& names, size_t rows, size_t in) {
  std::vector<const TensorView*> parts;
  for (const std::string& name : names) parts.push_back(&file.Get(name, {rows, in}));
  const DType dtype = parts[0]->dtype;
  bool same = dtype == DType::kBF16 || dtype == DType::kF32;
  for (const TensorView* t : parts) same = same && t->dtype == dtype;
  const DType kept = same ? dtype : DType::kF32;
  const size_t part_bytes = rows * in * SizeOf(kept);
  std::vector<uint8_t> w(parts.size() * part_bytes);
  std::vector<float> tile;
  for (size_t p = 0; p < parts.size(); ++p) {
    const TensorView& t = *parts[p];
    // Converted a tile of rows at a time: the finiteness check needs f32.
    const size_t tile_rows = std::max<size_t>(1, (size_t(1) << 20) / std::max<size_t>(in, 1));
    for (size_t r = 0; r < rows; r += tile_rows) {
      const size_t n = std::min(tile_rows, rows - r) * in;
      tile.resize(n);
      const size_t offset = r * in;
      ConvertToF32(static_cast<const uint8_t*>(t.data) + offset * SizeOf(t.dtype), t.dtype, n, tile.data());
      CheckFinite(t, tile.data(), n);
      uint8_t* to = w.data() + p * part_bytes + offset * SizeOf(kept);
      if (kept == t.dtype) {
        std::copy_n(static_cast<const uint8_t*>(t.data) + offset * SizeOf(t.dtype), n * SizeOf(kept), to);
      } else {
        std::copy_n(reinterpret_cast<const uint8_t*>(tile.data()), n * sizeof(float), to);
      }
    }
  }
  return Linear(w.data(), kept, rows * parts.size(), in);
}

Linear LoadLinear(const SafeTensors& weights, const std::string& name, size_t out, size_t in) {
  return LoadStackedLinear(weights, {name}, out, in);
}

std::vector<float> LoadVector(const SafeTensors& weights, const std::string& name, size_t n) {
  return LoadValues(weights, name, {n});
}

}  // namespace landmark
