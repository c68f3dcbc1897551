// TensorFile: .npy through NpyArray; .safetensors parsed here.
// Safetensors: u64 LE header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the data; offsets are relative to the data's start.

#include "landmark/tensor_file.h"

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

}  // namespace

struct TensorFile::Backing {
  std::unique_ptr<NpyArray> npy;
  std::unique_ptr<MappedFile> file;
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

  t.backing_->file = std::make_unique<MappedFile>(path);
  const MappedFile& f = *t.backing_->file;
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
  std::vector<std::string> names;
  for (const auto& [key, value] : header.items()) {
    if (key != "__metadata__") names.push_back(key);
  }
  if (tensor.empty()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    LANDMARK_CHECK_ARG(names.size() == 1, path + ": holds " + std::to_string(names.size()) +
                                              " tensors (" + list + "); name one as " + path + ":NAME");
    tensor = names[0];
  }
  t.name_ = path + ":" + tensor;
  LANDMARK_CHECK_ARG(header.contains(tensor) && tensor != "__metadata__",
                     path + ": no tensor named '" + tensor + "'");
  const nlohmann::json& entry = header[tensor];
  std::string dtype;
  std::vector<uint64_t> offsets;
  try {
    dtype = entry.at("dtype").get<std::string>();
    t.shape_ = entry.at("shape").get<std::vector<size_t>>();
    offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
  } catch (const nlohmann::json::exception&) {
    LANDMARK_THROW(t.name_ + ": entry lacks dtype, shape or data_offsets");
  }
  if (dtype == "F32") {
    t.dtype_ = DType::kF32;
  } else if (dtype == "F16") {
    t.dtype_ = DType::kF16;
  } else if (dtype == "BF16") {
    t.dtype_ = DType::kBF16;
  } else {
    LANDMARK_THROW(t.name_ + ": unsupported dtype " + dtype + " (expected F32, F16 or BF16)");
  }
  size_t elements = 1;
  for (size_t dim : t.shape_) {
    LANDMARK_CHECK_ARG(dim == 0 || elements <= std::numeric_limits<size_t>::max() / 16 / dim,
                       t.name_ + ": shape " + ShapeOf(t.shape_) + " is too large");
    elements *= dim;
  }
  t.elements_ = elements;
  const uint64_t data_start = 8 + header_len, data_bytes = f.size() - data_start;
  LANDMARK_CHECK_ARG(offsets.size() == 2 && offsets[0] <= offsets[1] && offsets[1] <= data_bytes,
                     t.name_ + ": data_offsets lie outside the file (truncated?)");
  LANDMARK_CHECK_ARG(offsets[1] - offsets[0] == elements * SizeOf(t.dtype_),
                     t.name_ + ": shape " + ShapeOf(t.shape_) + " of " + Name(t.dtype_) + " needs " +
                         std::to_string(elements * SizeOf(t.dtype_)) + " bytes, data_offsets give " +
                         std::to_string(offsets[1] - offsets[0]));
  LANDMARK_CHECK_ARG((data_start + offsets[0]) % SizeOf(t.dtype_) == 0,
                     t.name_ + ": data is not aligned to its element size");
  t.data_ = f.data() + data_start + offsets[0];
  return t;
}

std::string TensorFile::ShapeString() const { return ShapeOf(shape_); }

void TensorFile::CheckRank(size_t rank, const std::string& what) const {
  LANDMARK_CHECK_ARG(shape_.size() == rank, name_ + ": " + what + " must have " + std::to_string(rank) +
                                                " dimensions, has shape " + ShapeString());
}

}  // namespace landmark
