// .safetensors files with many tensors (model weights): read through one
// read-only memory map, written to a temporary file renamed into place.
// Layout: u64 LE header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"key": "string", ...}}, then the data.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "landmark/dtype.h"
#include "src/io/tensor_view.h"

namespace landmark {

class MappedFile;

class SafeTensors {
 public:
  // Validates the header and every entry (dtype F32/F16/BF16, shape, offsets
  // inside the file, alignment); throws landmark::Error naming the file and
  // the tensor.
  static SafeTensors Open(const std::string& path);
  // The same checks on bytes in memory (`name` stands for the path in
  // messages); the views point into `data`, which must outlive the result.
  static SafeTensors Parse(const void* data, size_t bytes, const std::string& name);
  SafeTensors(SafeTensors&&) noexcept;
  SafeTensors& operator=(SafeTensors&&) noexcept;
  ~SafeTensors();

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::vector<std::string> names() const;  // sorted
  bool Has(const std::string& name) const { return tensors_.count(name) != 0; }
  // Throws "<path>: no tensor named 'NAME'".
  const TensorView& Get(const std::string& name) const;
  // Also checks the shape: "<path>:NAME has shape (a, b), expected (c, d)".
  const TensorView& Get(const std::string& name, const std::vector<size_t>& shape) const;

 private:
  SafeTensors() = default;
  std::string path_;
  std::unique_ptr<MappedFile> file_;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

struct TensorToWrite {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<size_t> shape;
  const void* data = nullptr;  // elements of dtype, C order
};

// Throws landmark::Error on failure (duplicate names, I/O errors).
void WriteSafeTensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
// The same file's bytes, in memory (`name` for messages).
std::string SafeTensorsBytes(const std::vector<TensorToWrite>& tensors,
                             const std::map<std::string, std::string>& metadata = {},
                             const std::string& name = "safetensors");

}  // namespace landmark
