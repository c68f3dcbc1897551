// Model tensors for ingest: an array in a .npy file, or one tensor of a
// .safetensors file, mapped read-only (bounded memory for any file size).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "landmark/dtype.h"
#include "src/io/tensor_view.h"

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

  const std::string& name() const { return view_.name; }  // for messages: path or path:tensor
  const TensorView& view() const { return view_; }
  DType dtype() const { return view_.dtype; }
  const std::vector<size_t>& shape() const { return view_.shape; }
  size_t elements() const { return view_.elements; }
  const void* data() const { return view_.data; }
  std::string ShapeString() const { return view_.ShapeString(); }  // "(4096, 8, 128)"
  // Throws unless the shape has `rank` dims; `what` names the role ("keys").
  void CheckRank(size_t rank, const std::string& what) const { view_.CheckRank(rank, what); }

 private:
  TensorFile() = default;
  struct Backing;
  std::unique_ptr<Backing> backing_;
  TensorView view_;
};

}  // namespace landmark
