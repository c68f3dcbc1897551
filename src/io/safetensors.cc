// SafeTensors: parse and validate the JSON header once, hand out views into
// the mapped data. WriteSafeTensors: the inverse, data aligned to 8 bytes.

#include "src/io/safetensors.h"

#include <cstdint>
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
                      const unsigned char* file, uint64_t file_bytes) {
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
  const uint64_t data_bytes = file_bytes - data_start;
  LANDMARK_CHECK_ARG(offsets.size() == 2 && offsets[0] <= offsets[1] && offsets[1] <= data_bytes,
                     name + ": data_offsets lie outside the file (truncated?)");
  LANDMARK_CHECK_ARG(offsets[1] - offsets[0] == elements * SizeOf(t.dtype),
                     name + ": shape " + ShapeString(t.shape) + " of " + Name(t.dtype) + " needs " +
                         std::to_string(elements * SizeOf(t.dtype)) + " bytes, data_offsets give " +
                         std::to_string(offsets[1] - offsets[0]));
  LANDMARK_CHECK_ARG((data_start + offsets[0]) % SizeOf(t.dtype) == 0,
                     name + ": data is not aligned to its element size");
  t.data = file + data_start + offsets[0];
  return t;
}

}  // namespace

SafeTensors::SafeTensors(SafeTensors&&) noexcept = default;
SafeTensors& SafeTensors::operator=(SafeTensors&&) noexcept = default;
SafeTensors::~SafeTensors() = default;

SafeTensors SafeTensors::Open(const std::string& path) {
  auto file = std::make_unique<MappedFile>(path);
  SafeTensors s = Parse(file->data(), file->size(), path);
  s.file_ = std::move(file);
  return s;
}

SafeTensors SafeTensors::Parse(const void* data, size_t bytes, const std::string& path) {
  SafeTensors s;
  s.path_ = path;
  const auto* file = static_cast<const unsigned char*>(data);
  LANDMARK_CHECK_ARG(bytes >= 8, path + ": not a .safetensors file (" +
                                     (bytes ? std::string("truncated") : std::string("empty")) + ")");
  uint64_t header_len;
  std::memcpy(&header_len, file, 8);
  LANDMARK_CHECK_ARG(header_len <= bytes - 8 && header_len <= kMaxHeaderBytes,
                     path + ": header length " + std::to_string(header_len) +
                         " exceeds the file (truncated, or not a .safetensors file)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(reinterpret_cast<const char*>(file) + 8,
                                   reinterpret_cast<const char*>(file) + 8 + header_len);
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
    s.tensors_.emplace(key, ParseEntry(path + ":" + key, value, 8 + header_len, file, bytes));
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

namespace {

// The header (length and JSON, padded so the data starts 8-byte aligned)
// and the data pieces of a .safetensors file.
struct Layout {
  uint64_t header_len = 0;
  std::string json;
  std::vector<FilePiece> pieces;  // [0]: header_len, [1]: json, then the tensors
};

Layout MakeLayout(const std::vector<TensorToWrite>& tensors, const std::map<std::string, std::string>& metadata,
                  const std::string& path) {
  Layout l;
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> seen;
  l.pieces.resize(2);
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
    l.pieces.push_back({t.data, bytes});
    offset += bytes;
  }
  l.json = header.dump();
  l.json.append((8 - (8 + l.json.size()) % 8) % 8, ' ');  // data starts 8-byte aligned
  l.header_len = l.json.size();
  return l;
}

}  // namespace

void WriteSafeTensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  Layout l = MakeLayout(tensors, metadata, path);
  l.pieces[0] = {&l.header_len, 8};
  l.pieces[1] = {l.json.data(), l.json.size()};
  WriteFileAtomically(path, l.pieces);
}

std::string SafeTensorsBytes(const std::vector<TensorToWrite>& tensors,
                             const std::map<std::string, std::string>& metadata, const std::string& name) {
  Layout l = MakeLayout(tensors, metadata, name);
  l.pieces[0] = {&l.header_len, 8};
  l.pieces[1] = {l.json.data(), l.json.size()};
  size_t total = 0;
  for (const FilePiece& p : l.pieces) total += p.bytes;
  std::string bytes;
  bytes.reserve(total);
  for (const FilePiece& p : l.pieces) {
    if (p.bytes) bytes.append(static_cast<const char*>(p.data), p.bytes);
  }
  return bytes;
}

}  // namespace landmark
