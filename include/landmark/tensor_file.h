// Model tensors for ingest: an array in a .npy file, or one tensor of a
// .safetensors file, mapped read-only (bounded memory for any file size).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "landmark/dtype.h"

namespace landmark {

class MappedFile;

// One tensor of a file: where its data lies (mapped, read-only) and its shape.
struct TensorView {
  std::string name;  // for messages: path:tensor
  DType dtype = DType::kF32;
  std::vector<size_t> shape;
  size_t elements = 0;
  const void* data = nullptr;
  std::string ShapeString() const;  // "(4096, 8, 128)"
};

// Every tensor of a .safetensors file and its "__metadata__" (string values),
// parsed once from one mapping. Validates each entry (dtype f32, f16 or bf16;
// shape against the byte range; data inside the file) at open; throws
// landmark::Error naming the file (and tensor) and the problem.
class SafetensorsFile {
 public:
  static SafetensorsFile Open(const std::string& path);
  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  bool contains(const std::string& name) const { return tensors_.count(name) > 0; }
  // Throws "PATH: no tensor named 'NAME'".
  const TensorView& tensor(const std::string& name) const;
  const unsigned char* bytes() const;  // the whole file
  size_t size() const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  std::unique_ptr<MappedFile> file_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, TensorView> tensors_;
};

// A tensor to write: `data` holds elements × SizeOf(dtype) bytes.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<size_t> shape;
  const void* data = nullptr;
};
// Writes a .safetensors file (tensors in the order given, each 8-byte
// aligned; metadata as "__metadata__") through a temporary file renamed into
// place. Throws landmark::Error naming the path if it cannot be written.
void WriteSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

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
