// NumPy .npy arrays: read through a read-only memory map (a 20 GB file costs
// no RAM until its pages are touched), written with a v1 header.
// Supported element types: '<f4' (f32), '<f2' (f16) and '<u2', which holds
// bf16 bit patterns (NumPy has no bfloat16; write bf16 as uint16). C order only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "landmark/dtype.h"
#include "src/io/tensor_view.h"

namespace landmark {

class MappedFile;

class NpyArray {
 public:
  // Opens and validates `path`: magic, version (1, 2, 3), header, dtype,
  // order, and that the file holds exactly the bytes the shape needs.
  // Throws landmark::Error naming the file and the problem.
  static NpyArray Open(const std::string& path);

  NpyArray(NpyArray&&) noexcept;
  NpyArray& operator=(NpyArray&&) noexcept;
  ~NpyArray();

  const std::string& path() const { return view_.name; }
  const TensorView& view() const { return view_; }
  DType dtype() const { return view_.dtype; }
  const std::vector<size_t>& shape() const { return view_.shape; }
  size_t elements() const { return view_.elements; }
  const void* data() const { return view_.data; }  // elements() values of dtype(), C order

  // Throws unless the array has `rank` dimensions; `what` names it (e.g. "K").
  void CheckRank(size_t rank, const std::string& what) const { view_.CheckRank(rank, what); }
  std::string ShapeString() const { return view_.ShapeString(); }

 private:
  NpyArray() = default;
  std::unique_ptr<MappedFile> file_;
  TensorView view_;  // name: the path
};

// Writes `data` (elements of `dtype`, C order) as `path` with the given shape,
// to a temporary file renamed into place. Throws landmark::Error on failure.
void WriteNpy(const std::string& path, const void* data, DType dtype,
              const std::vector<size_t>& shape);
// The same for uint8 ('|u1'), e.g. block masks.
void WriteNpyU8(const std::string& path, const uint8_t* data, const std::vector<size_t>& shape);

}  // namespace landmark
