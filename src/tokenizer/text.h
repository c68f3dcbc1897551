// Text flowing through a tokenizer's stages: UTF-8 bytes, and for every
// byte the offset in the caller's input it came from, so a token can say
// where its text began however normalizers and pre-tokenizers changed it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace landmark::tokenizer {

struct Piece {
  std::string text;
  std::vector<uint32_t> origin;  // [text.size()]: input offset of each byte
  bool first = false;            // starts the input (Metaspace's prepend_scheme "first")

  static Piece Of(std::string_view text, uint32_t offset);  // origins offset, offset + 1, ...
  Piece Slice(size_t begin, size_t end) const;
  void Append(std::string_view bytes, uint32_t at);  // bytes all from input offset `at`
  void Append(const Piece& other, size_t begin, size_t end);
};

// UTF-8: the length of the sequence starting with byte c (1 for stray bytes).
inline size_t Utf8Length(unsigned char c) {
  return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
}
// Code point at s[i] (advances i); invalid bytes give U+FFFD and advance one.
char32_t DecodeUtf8(std::string_view s, size_t& i);
void EncodeUtf8(char32_t c, std::string& out);
bool IsValidUtf8(std::string_view s);
// Invalid sequences replaced by U+FFFD (Rust's String::from_utf8_lossy).
std::string Utf8Lossy(std::string_view bytes);

// GPT-2's byte-level alphabet: every byte as a printable character.
const std::string& ByteToUnicode(uint8_t b);          // UTF-8 of the character
int UnicodeToByte(char32_t c);                        // -1 if not in the alphabet

bool IsWhitespace(char32_t c);  // Unicode White_Space

}  // namespace landmark::tokenizer
