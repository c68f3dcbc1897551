// Model tensors for ingest: an array in a .npy file, or one tensor of a
// .safetensors file, mapped read-only (bounded memory for any file size).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "landmark/dtype.h"

namespace landmark {

class TensorFile {
 public:
  // `spec` is "path.npy", "path.safetensors" (a file holding one tensor) or
  // "path.safetensors:NAME". Validates the header, dtype (f32, f16, bf16) and
  // that the data lies inside the file; throws landmark::Error naming the
  // file (and tensor) and the problem.
  static TensorFile Open(const std::string& spec);

  TensorFile(TensorFile&&) noexcept;
  TensorFile& operator=(TensorFile&&) noexcept;
  ~TensorFile();

  const std::string& name() const { return name_; }  // for messages: path or path:tensor
  DType dtype() const { return dtype_; }
  const std::vector<size_t>& shape() const { return shape_; }
  size_t elements() const { return elements_; }
  const void* data() const { return data_; }
  std::string ShapeString() const;  // "(4096, 8, 128)"
  // Throws unless the shape has `rank` dims; `what` names the role ("keys").
  void CheckRank(size_t rank, const std::string& what) const;

 private:
  TensorFile() = default;
  struct Backing;
  std::unique_ptr<Backing> backing_;
  std::string name_;
  DType dtype_ = DType::kF32;
  std::vector<size_t> shape_;
  size_t elements_ = 0;
  const void* data_ = nullptr;
};

}  // namespace landmark
