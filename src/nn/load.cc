// Model weights by tensor name from a .safetensors file.

#include "landmark/error.h"
#include "src/kernels/kernels.h"
#include "src/nn/nn.h"
#include "src/io/safetensors.h"

namespace landmark {

Linear LoadLinear(const SafeTensors& weights, const std::string& name, size_t out, size_t in) {
  const TensorView& t = weights.Get(name, {out, in});
  return Linear(t.data, t.dtype, out, in);
}

std::vector<float> LoadVector(const SafeTensors& weights, const std::string& name, size_t n) {
  const TensorView& t = weights.Get(name, {n});
  std::vector<float> v(n);
  ConvertToF32(t.data, t.dtype, n, v.data());
  return v;
}

}  // namespace landmark
