// SafeTensors: parse and validate the JSON header once, hand out views into
// the mapped data. WriteSafeTensors: the inverse, data aligned to 8 bytes.

#include "landmark/safetensors.h"

#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "landmark/error.h"
#include "src/io/mapped_file.h"
#include "src/io/write_file.h"

namespace landmark {
namespace {

constexpr uint64_t kMaxHeaderBytes = uint64_t(100) << 20;

const char* SafetensorsDType(DType t) {
  switch (t) {
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
  }
  return "?";
}

TensorView ParseEntry(const std::string& name, const nlohmann::json& entry, uint64_t data_start,
                      const MappedFile& f) {
  TensorView t;
  t.name = name;
  std::string dtype;
  std::vector<uint64_t> offsets;
  try {
    dtype = entry.at("dtype").get<std::string>();
    t.shape = entry.at("shape").get<std::vector<size_t>>();
    offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
  } catch (const nlohmann::json::exception&) {
    LANDMARK_THROW(name + ": entry lacks dtype, shape or data_offsets");
  }
  if (dtype == "F32") {
    t.dtype = DType::kF32;
  } else if (dtype == "F16") {
    t.dtype = DType::kF16;
  } else if (dtype == "BF16") {
    t.dtype = DType::kBF16;
  } else {
    LANDMARK_THROW(name + ": unsupported dtype " + dtype + " (expected F32, F16 or BF16)");
  }
  size_t elements = 1;
  for (size_t dim : t.shape) {
    LANDMARK_CHECK_ARG(dim == 0 || elements <= std::numeric_limits<size_t>::max() / 16 / dim,
                       name + ": shape " + ShapeString(t.shape) + " is too large");
    elements *= dim;
  }
  t.elements = elements;
  const uint64_t data_bytes = f.size() - data_start;
  LANDMARK_CHECK_ARG(offsets.size() == 2 && offsets[0] <= offsets[1] && offsets[1] <= data_bytes,
                     name + ": data_offsets lie outside the file (truncated?)");
  LANDMARK_CHECK_ARG(offsets[1] - offsets[0] == elements * SizeOf(t.dtype),
                     name + ": shape " + ShapeString(t.shape) + " of " + Name(t.dtype) + " needs " +
                         std::to_string(elements * SizeOf(t.dtype)) + " bytes, data_offsets give " +
                         std::to_string(offsets[1] - offsets[0]));
  LANDMARK_CHECK_ARG((data_start + offsets[0]) % SizeOf(t.dtype) == 0,
                     name + ": data is not aligned to its element size");
  t.data = f.data() + data_start + offsets[0];
  return t;
}

}  // namespace

std::string ShapeString(const std::vector<size_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

std::string TensorView::ShapeString() const { return landmark::ShapeString(shape); }

SafeTensors::SafeTensors(SafeTensors&&) noexcept = default;
SafeTensors& SafeTensors::operator=(SafeTensors&&) noexcept = default;
SafeTensors::~SafeTensors() = default;

SafeTensors SafeTensors::Open(const std::string& path) {
  SafeTensors s;
  s.path_ = path;
  s.file_ = std::make_unique<MappedFile>(path);
  const MappedFile& f = *s.file_;
  LANDMARK_CHECK_ARG(f.size() >= 8, path + ": not a .safetensors file (" +
                                        (f.size() ? std::string("truncated") : std::string("empty")) + ")");
  uint64_t header_len;
  std::memcpy(&header_len, f.data(), 8);
  LANDMARK_CHECK_ARG(header_len <= f.size() - 8 && header_len <= kMaxHeaderBytes,
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
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      LANDMARK_CHECK_ARG(value.is_object(), path + ": __metadata__ is not an object");
      for (const auto& [k, v] : value.items()) {
        LANDMARK_CHECK_ARG(v.is_string(), path + ": __metadata__ value '" + k + "' is not a string");
        s.metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    s.tensors_.emplace(key, ParseEntry(path + ":" + key, value, 8 + header_len, f));
  }
  return s;
}

std::vector<std::string> SafeTensors::names() const {
  std::vector<std::string> out;
  for (const auto& [name, view] : tensors_) out.push_back(name);
  return out;
}

const TensorView& SafeTensors::Get(const std::string& name) const {
  const auto it = tensors_.find(name);
  LANDMARK_CHECK_ARG(it != tensors_.end(), path_ + ": no tensor named '" + name + "'");
  return it->second;
}

const TensorView& SafeTensors::Get(const std::string& name, const std::vector<size_t>& shape) const {
  const TensorView& t = Get(name);
  LANDMARK_CHECK_ARG(t.shape == shape, t.name + " has shape " + t.ShapeString() + ", expected " +
                                           ShapeString(shape));
  return t;
}

void WriteSafeTensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> seen;
  std::vector<FilePiece> pieces(2);
  uint64_t offset = 0;
  for (const TensorToWrite& t : tensors) {
    LANDMARK_CHECK_ARG(t.name != "__metadata__" && seen.insert(t.name).second,
                       path + ": duplicate or reserved tensor name '" + t.name + "'");
    size_t elements = 1;
    for (size_t d : t.shape) elements *= d;
    const uint64_t bytes = elements * SizeOf(t.dtype);
    header[t.name] = {{"dtype", SafetensorsDType(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes}}};
    pieces.push_back({t.data, bytes});
    offset += bytes;
  }
  std::string json = header.dump();
  json.append((8 - (8 + json.size()) % 8) % 8, ' ');  // data starts 8-byte aligned
  const uint64_t header_len = json.size();
  pieces[0] = {&header_len, 8};
  pieces[1] = {json.data(), json.size()};
  WriteFileAtomically(path, pieces);
}

}  // namespace landmark
