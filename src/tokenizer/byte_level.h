// GPT-2's byte-level alphabet: every byte is shown as a printable character
// (printable Latin-1 bytes as themselves, the others as U+0100.. in order),
// so that any byte string is a string of vocabulary characters.
#pragma once

#include <cstdint>
#include <string_view>

namespace landmark::tokenizer {

std::string_view ByteToChar(uint8_t byte);  // the character's UTF-8 (1 or 2 bytes)
int CharToByte(char32_t c);                 // the byte, or -1 for a character outside the alphabet

}  // namespace landmark::tokenizer
