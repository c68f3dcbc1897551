// TensorFile: .npy through NpyArray; .safetensors parsed here.
// Safetensors: u64 LE header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the data; offsets are relative to the data's start. Metadata values
// are strings.

#include "landmark/tensor_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "landmark/error.h"
#include "landmark/npy.h"
#include "src/io/mapped_file.h"

namespace landmark {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string ShapeOf(const std::vector<size_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}


// Parses and checks one entry of the header.
TensorView ParseEntry(const std::string& path, const std::string& name, const nlohmann::json& entry,
                      const unsigned char* data, uint64_t data_bytes) {
  TensorView t;
  t.name = path + ":" + name;
  std::string dtype;
  std::vector<uint64_t> offsets;
  try {
    dtype = entry.at("dtype").get<std::string>();
    t.shape = entry.at("shape").get<std::vector<size_t>>();
    offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
  } catch (const nlohmann::json::exception&) {
    LANDMARK_THROW(t.name + ": entry lacks dtype, shape or data_offsets");
  }
  if (dtype == "F32") {
    t.dtype = DType::kF32;
  } else if (dtype == "F16") {
    t.dtype = DType::kF16;
  } else if (dtype == "BF16") {
    t.dtype = DType::kBF16;
  } else {
    LANDMARK_THROW(t.name + ": unsupported dtype " + dtype + " (expected F32, F16 or BF16)");
  }
  size_t elements = 1;
  for (size_t dim : t.shape) {
    LANDMARK_CHECK_ARG(dim == 0 || elements <= std::numeric_limits<size_t>::max() / 16 / dim,
                       t.name + ": shape " + ShapeOf(t.shape) + " is too large");
    elements *= dim;
  }
  t.elements = elements;
  LANDMARK_CHECK_ARG(offsets.size() == 2 && offsets[0] <= offsets[1] && offsets[1] <= data_bytes,
                     t.name + ": data_offsets lie outside the file (truncated?)");
  LANDMARK_CHECK_ARG(offsets[1] - offsets[0] == elements * SizeOf(t.dtype),
                     t.name + ": shape " + ShapeOf(t.shape) + " of " + Name(t.dtype) + " needs " +
                         std::to_string(elements * SizeOf(t.dtype)) + " bytes, data_offsets give " +
                         std::to_string(offsets[1] - offsets[0]));
  t.data = data + offsets[0];
  LANDMARK_CHECK_ARG(reinterpret_cast<uintptr_t>(t.data) % SizeOf(t.dtype) == 0,
                     t.name + ": data is not aligned to its element size");
  return t;
}

}  // namespace

std::string TensorView::ShapeString() const { return ShapeOf(shape); }

SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

SafetensorsFile SafetensorsFile::Open(const std::string& path) {
  SafetensorsFile s;
  s.path_ = path;
  s.file_ = std::make_unique<MappedFile>(path);
  const MappedFile& f = *s.file_;
  LANDMARK_CHECK_ARG(f.size() >= 8, path + ": not a .safetensors file (" +
                                        (f.size() ? std::string("truncated") : std::string("empty")) + ")");
  uint64_t header_len;
  std::memcpy(&header_len, f.data(), 8);
  LANDMARK_CHECK_ARG(header_len <= f.size() - 8 && header_len <= (uint64_t(100) << 20),
                     path + ": header length " + std::to_string(header_len) +
                         " exceeds the file (truncated, or not a .safetensors file)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(reinterpret_cast<const char*>(f.data()) + 8,
                                   reinterpret_cast<const char*>(f.data()) + 8 + header_len);
  } catch (const nlohmann::json::exception& e) {
    LANDMARK_THROW(path + ": the header is not valid JSON (" + std::string(e.what()) + ")");
  }
  LANDMARK_CHECK_ARG(header.is_object(), path + ": the header is not a JSON object");
  const uint64_t data_start = 8 + header_len;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      LANDMARK_CHECK_ARG(value.is_object(), path + ": __metadata__ is not a JSON object");
      for (const auto& [k, v] : value.items()) s.metadata_[k] = v.is_string() ? v.get<std::string>() : v.dump();
      continue;
    }
    s.tensors_.emplace(key, ParseEntry(path, key, value, f.data() + data_start, f.size() - data_start));
  }
  return s;
}

const TensorView& SafetensorsFile::tensor(const std::string& name) const {
  auto it = tensors_.find(name);
  LANDMARK_CHECK_ARG(it != tensors_.end(), path_ + ": no tensor named '" + name + "'");
  return it->second;
}

const unsigned char* SafetensorsFile::bytes() const { return file_->data(); }
size_t SafetensorsFile::size() const { return file_->size(); }

void WriteSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::vector<uint64_t> begins;
  for (const TensorToWrite& t : tensors) {
    size_t elements = 1;
    for (size_t dim : t.shape) elements *= dim;
    offset = (offset + 7) / 8 * 8;
    begins.push_back(offset);
    const uint64_t end = offset + elements * SizeOf(t.dtype);
    header[t.name] = {{"dtype", t.dtype == DType::kF32 ? "F32" : t.dtype == DType::kF16 ? "F16" : "BF16"},
                      {"shape", t.shape},
                      {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8) text += ' ';
  const std::string temp = path + ".tmp";
  std::FILE* f = std::fopen(temp.c_str(), "wb");
  LANDMARK_CHECK_ARG(f != nullptr, path + ": cannot write (" + std::string(std::strerror(errno)) + ")");
  const uint64_t n = text.size();
  bool ok = std::fwrite(&n, 8, 1, f) == 1 && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  uint64_t written = 0;
  const char zeros[8] = {};
  for (size_t i = 0; i < tensors.size() && ok; ++i) {
    ok = std::fwrite(zeros, 1, begins[i] - written, f) == begins[i] - written;
    size_t elements = 1;
    for (size_t dim : tensors[i].shape) elements *= dim;
    const size_t bytes = elements * SizeOf(tensors[i].dtype);
    ok = ok && (bytes == 0 || std::fwrite(tensors[i].data, 1, bytes, f) == bytes);
    written = begins[i] + bytes;
  }
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    LANDMARK_THROW(path + ": cannot write (" + std::string(std::strerror(errno)) + ")");
  }
}

struct TensorFile::Backing {
  std::unique_ptr<NpyArray> npy;
  std::unique_ptr<SafetensorsFile> file;
};

TensorFile::TensorFile(TensorFile&&) noexcept = default;
TensorFile& TensorFile::operator=(TensorFile&&) noexcept = default;
TensorFile::~TensorFile() = default;

TensorFile TensorFile::Open(const std::string& spec) {
  TensorFile t;
  t.backing_ = std::make_unique<Backing>();
  std::string path = spec, tensor;
  const size_t colon = spec.rfind(':');
  if (colon != std::string::npos && EndsWith(spec.substr(0, colon), ".safetensors")) {
    path = spec.substr(0, colon);
    tensor = spec.substr(colon + 1);
  }
  if (!EndsWith(path, ".safetensors")) {
    LANDMARK_CHECK_ARG(EndsWith(path, ".npy"),
                       spec + ": expected a .npy file or path.safetensors[:TENSOR]");
    t.backing_->npy = std::make_unique<NpyArray>(NpyArray::Open(path));
    const NpyArray& a = *t.backing_->npy;
    t.name_ = path;
    t.dtype_ = a.dtype();
    t.shape_ = a.shape();
    t.elements_ = a.elements();
    t.data_ = a.data();
    return t;
  }
  t.backing_->file = std::make_unique<SafetensorsFile>(SafetensorsFile::Open(path));
  const SafetensorsFile& f = *t.backing_->file;
  if (tensor.empty()) {
    std::string list;
    for (const auto& [name, view] : f.tensors()) list += (list.empty() ? "" : ", ") + name;
    LANDMARK_CHECK_ARG(f.tensors().size() == 1, path + ": holds " + std::to_string(f.tensors().size()) +
                                                     " tensors (" + list + "); name one as " + path + ":NAME");
    tensor = f.tensors().begin()->first;
  }
  const TensorView& view = f.tensor(tensor);
  t.name_ = view.name;
  t.dtype_ = view.dtype;
  t.shape_ = view.shape;
  t.elements_ = view.elements;
  t.data_ = view.data;
  return t;
}

std::string TensorFile::ShapeString() const { return ShapeOf(shape_); }

void TensorFile::CheckRank(size_t rank, const std::string& what) const {
  LANDMARK_CHECK_ARG(shape_.size() == rank, name_ + ": " + what + " must have " + std::to_string(rank) +
                                                " dimensions, has shape " + ShapeString());
}

}  // namespace landmark
