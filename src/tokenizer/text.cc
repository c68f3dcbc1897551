// UTF-8 helpers and the byte-level alphabet.
#include "src/tokenizer/text.h"

#include <array>

namespace landmark::tokenizer {

Piece Piece::Of(std::string_view text, uint32_t offset) {
  Piece p;
  p.text.assign(text);
  p.origin.resize(text.size());
  for (size_t i = 0; i < text.size(); ++i) p.origin[i] = offset + uint32_t(i);
  return p;
}

Piece Piece::Slice(size_t begin, size_t end) const {
  Piece p;
  p.text = text.substr(begin, end - begin);
  p.origin.assign(origin.begin() + long(begin), origin.begin() + long(end));
  p.first = first && begin == 0;
  return p;
}

void Piece::Append(std::string_view bytes, uint32_t at) {
  text.append(bytes);
  origin.insert(origin.end(), bytes.size(), at);
}

void Piece::Append(const Piece& other, size_t begin, size_t end) {
  text.append(other.text, begin, end - begin);
  origin.insert(origin.end(), other.origin.begin() + long(begin), other.origin.begin() + long(end));
}

char32_t DecodeUtf8(std::string_view s, size_t& i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  const size_t n = Utf8Length(c);
  if (n == 1) {
    ++i;
    return c < 0x80 ? c : 0xFFFD;
  }
  if (i + n > s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    const unsigned char b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr char32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return 0xFFFD;
  }
  i += n;
  return cp;
}

void EncodeUtf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | (c >> 6));
    out += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += char(0xE0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  } else {
    out += char(0xF0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 0x3F));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  }
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const size_t before = i;
    if (DecodeUtf8(s, i) == 0xFFFD && !(i - before == 3 && s.substr(before, 3) == "\xEF\xBF\xBD")) return false;
  }
  return true;
}

std::string Utf8Lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    const size_t before = i;
    const char32_t c = DecodeUtf8(bytes, i);
    if (c == 0xFFFD && !(i - before == 3 && bytes.substr(before, 3) == "\xEF\xBF\xBD")) {
      out += "\xEF\xBF\xBD";
    } else {
      out.append(bytes, before, i - before);
    }
  }
  return out;
}

namespace {

struct ByteLevelMaps {
  std::array<std::string, 256> to_unicode;
  std::array<int, 512> to_byte;
  ByteLevelMaps() {
    to_byte.fill(-1);
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      const char32_t c = printable ? char32_t(b) : char32_t(next++);
      EncodeUtf8(c, to_unicode[size_t(b)]);
      to_byte[size_t(c)] = b;
    }
  }
};

const ByteLevelMaps& Maps() {
  static const ByteLevelMaps maps;
  return maps;
}

}  // namespace

const std::string& ByteToUnicode(uint8_t b) { return Maps().to_unicode[b]; }
int UnicodeToByte(char32_t c) { return c < 512 ? Maps().to_byte[c] : -1; }

bool IsWhitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace landmark::tokenizer
