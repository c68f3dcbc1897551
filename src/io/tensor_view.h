// One tensor as the readers hand it out: a name for messages, dtype, shape
// and a pointer into memory someone else owns (a mapped .npy or
// .safetensors file). NpyArray, SafeTensors and TensorFile all give these.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "landmark/dtype.h"

namespace landmark {

struct TensorView {
  std::string name;  // for messages: "path" or "path:tensor"
  DType dtype = DType::kF32;
  std::vector<size_t> shape;
  size_t elements = 0;
  const void* data = nullptr;  // elements values of dtype, C order

  std::string ShapeString() const;  // "(4096, 8)"
  // Throws unless the shape has `rank` dims; `what` names the role ("keys").
  void CheckRank(size_t rank, const std::string& what) const;
};

std::string ShapeString(const std::vector<size_t>& shape);

}  // namespace landmark
