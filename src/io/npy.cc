// .npy reading (validated, memory-mapped) and writing.
// Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html

#include "src/io/npy.h"

#include <cstdint>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string_view>

#include "landmark/error.h"
#include "src/io/safetensors.h"
#include "src/io/write_file.h"
#include "src/io/mapped_file.h"

namespace landmark {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

// A strict parser for the header's Python dict literal, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& path) : text_(text), path_(path) {}

  void Parse(std::string& descr, bool& fortran_order, std::vector<size_t>& shape) {
    bool have_descr = false, have_order = false, have_shape = false;
    Expect('{');
    while (Peek() != '}') {
      const std::string key = String();
      Expect(':');
      if (key == "descr") {
        descr = String();
        have_descr = true;
      } else if (key == "fortran_order") {
        fortran_order = Bool();
        have_order = true;
      } else if (key == "shape") {
        shape = Tuple();
        have_shape = true;
      } else {
        Fail("unexpected header key '" + key + "'");
      }
      if (Peek() == ',') ++pos_;
    }
    ++pos_;
    if (!have_descr || !have_order || !have_shape) Fail("header lacks descr, fortran_order or shape");
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    LANDMARK_THROW(path_ + ": not a valid .npy header: " + what);
  }
  char Peek() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
    if (pos_ >= text_.size()) Fail("unexpected end of header");
    return text_[pos_];
  }
  void Expect(char c) {
    if (Peek() != c) Fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string String() {
    const char quote = Peek();
    if (quote != '\'' && quote != '"') Fail("expected a quoted string");
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) Fail("unterminated string");
    std::string s(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return s;
  }
  bool Bool() {
    Peek();
    for (auto [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (text_.substr(pos_, std::strlen(word)) == word) {
        pos_ += std::strlen(word);
        return value;
      }
    }
    Fail("expected True or False");
  }
  std::vector<size_t> Tuple() {
    std::vector<size_t> dims;
    Expect('(');
    while (Peek() != ')') {
      size_t value = 0;
      bool digits = false;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        const size_t digit = size_t(text_[pos_++] - '0');
        if (value > (std::numeric_limits<size_t>::max() - digit) / 10) Fail("dimension overflows");
        value = value * 10 + digit;
        digits = true;
      }
      if (!digits) Fail("expected a non-negative dimension");
      dims.push_back(value);
      if (Peek() == ',') ++pos_;
    }
    ++pos_;
    return dims;
  }

  std::string_view text_;
  const std::string& path_;
  size_t pos_ = 0;
};

DType ParseDescr(const std::string& descr, const std::string& path) {
  if (descr.size() == 3 && (descr[0] == '<' || descr[0] == '=' || descr[0] == '|')) {
    const std::string type = descr.substr(1);
    if (type == "f4") return DType::kF32;
    if (type == "f2") return DType::kF16;
    if (type == "u2") return DType::kBF16;  // bf16 bit patterns (NumPy has no bfloat16)
  }
  if (!descr.empty() && descr[0] == '>') {
    LANDMARK_THROW(path + ": big-endian data ('" + descr + "') is not supported");
  }
  LANDMARK_THROW(path + ": unsupported dtype '" + descr +
                 "' (expected '<f4' f32, '<f2' f16, or '<u2' holding bf16)");
}

const char* Descr(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "<f4";
    case DType::kF16: return "<f2";
    case DType::kBF16: return "<u2";
  }
  return "";
}

}  // namespace

NpyArray::NpyArray(NpyArray&&) noexcept = default;
NpyArray& NpyArray::operator=(NpyArray&&) noexcept = default;
NpyArray::~NpyArray() = default;

NpyArray NpyArray::Open(const std::string& path) {
  NpyArray array;
  array.view_.name = path;
  array.file_ = std::make_unique<MappedFile>(path);
  const unsigned char* bytes = array.file_->data();
  const size_t size = array.file_->size();
  if (size < kMagicSize + 4 || std::memcmp(bytes, kMagic, kMagicSize) != 0) {
    LANDMARK_THROW(path + ": not a .npy file (" +
                   (size == 0 ? std::string("empty") : std::string("bad magic or truncated")) + ")");
  }
  const unsigned major = bytes[6];
  size_t header_len = 0, preamble = 0;
  if (major == 1) {
    header_len = size_t(bytes[8]) | size_t(bytes[9]) << 8;
    preamble = 10;
  } else if (major == 2 || major == 3) {
    LANDMARK_CHECK_ARG(size >= 12, path + ": truncated .npy header");
    header_len = size_t(bytes[8]) | size_t(bytes[9]) << 8 | size_t(bytes[10]) << 16 |
                 size_t(bytes[11]) << 24;
    preamble = 12;
  } else {
    LANDMARK_THROW(path + ": unsupported .npy format version " + std::to_string(major));
  }
  LANDMARK_CHECK_ARG(header_len <= size - preamble,
                     path + ": truncated .npy header (" + std::to_string(header_len) +
                         " header bytes declared, file has " + std::to_string(size) + ")");
  std::string descr;
  bool fortran_order = false;
  HeaderParser(std::string_view(reinterpret_cast<const char*>(bytes) + preamble, header_len), path)
      .Parse(descr, fortran_order, array.view_.shape);
  array.view_.dtype = ParseDescr(descr, path);
  LANDMARK_CHECK_ARG(!fortran_order, path + ": Fortran-order arrays are not supported (save C order)");

  size_t elements = 1;
  for (size_t dim : array.view_.shape) {
    LANDMARK_CHECK_ARG(dim == 0 || elements <= std::numeric_limits<size_t>::max() / 16 / dim,
                       path + ": shape " + array.ShapeString() + " is too large");
    elements *= dim;
  }
  array.view_.elements = elements;
  const size_t offset = preamble + header_len;
  const size_t need = elements * SizeOf(array.view_.dtype);
  LANDMARK_CHECK_ARG(size - offset == need,
                     path + ": shape " + array.ShapeString() + " of " + Name(array.view_.dtype) +
                         " needs " + std::to_string(need) + " data bytes, the file has " +
                         std::to_string(size - offset) + (size - offset < need ? " (truncated)" : ""));
  LANDMARK_CHECK_ARG(offset % SizeOf(array.view_.dtype) == 0,
                     path + ": data starts at an unaligned offset " + std::to_string(offset));
  array.view_.data = bytes + offset;
  return array;
}

namespace {

// Writes `shape` elements of `element_bytes` each, described by `descr`.
void WriteNpyRaw(const std::string& path, const void* data, const char* descr,
                 size_t element_bytes, const std::vector<size_t>& shape) {
  std::string dims;
  size_t elements = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    dims += (i ? ", " : "") + std::to_string(shape[i]);
    elements *= shape[i];
  }
  if (shape.size() == 1) dims += ",";
  std::string header = "{'descr': '" + std::string(descr) +
                       "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad so that the data starts at a multiple of 64 bytes; end with '\n'.
  const size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header += '\n';
  std::string preamble(kMagic, kMagicSize);
  preamble += '\x01';
  preamble += '\x00';
  preamble += char(header.size() & 0xff);
  preamble += char(header.size() >> 8);

  WriteFileAtomically(path, {{preamble.data(), preamble.size()}, {header.data(), header.size()},
                             {data, elements * element_bytes}});
}

}  // namespace

void WriteNpy(const std::string& path, const void* data, DType dtype,
              const std::vector<size_t>& shape) {
  WriteNpyRaw(path, data, Descr(dtype), SizeOf(dtype), shape);
}

void WriteNpyU8(const std::string& path, const uint8_t* data, const std::vector<size_t>& shape) {
  WriteNpyRaw(path, data, "|u1", 1, shape);
}

}  // namespace landmark
