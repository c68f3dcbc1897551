#include "src/tokenizer/byte_level.h"

#include <array>
#include <cstdint>
#include <string>

#include "src/tokenizer/unicode.h"

namespace landmark::tokenizer {
namespace {

// `tokenizers`' bytes_char(): bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF map
// to themselves; the rest, in increasing order, to U+0100, U+0101, ...
struct Alphabet {
  std::array<std::string, 256> utf8;
  std::array<int, 512> byte_of;  // every character lies below U+0200
  Alphabet() {
    byte_of.fill(-1);
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t c = printable ? char32_t(b) : next++;
      AppendUtf8(utf8[b], c);
      byte_of[c] = b;
    }
  }
};

const Alphabet& TheAlphabet() {
  static const Alphabet alphabet;
  return alphabet;
}

}  // namespace

std::string_view ByteToChar(uint8_t byte) { return TheAlphabet().utf8[byte]; }

int CharToByte(char32_t c) { return c < 512 ? TheAlphabet().byte_of[c] : -1; }

}  // namespace landmark::tokenizer
