// UTF-8 and the Unicode character classes the `tokenizers` library relies on
// (Rust's char::is_whitespace and is_numeric, the regex crate's \w, Python's
// str.isspace for Jinja's trim), over utf8proc's tables.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace landmark::tokenizer {

// Bytes in the UTF-8 sequence that `lead` starts (1 for a byte that cannot lead one).
inline size_t SequenceLength(unsigned char lead) {
  return lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
}

// The code point at s[i] of valid UTF-8; advances i past it.
char32_t NextCodePoint(std::string_view s, size_t& i);
void AppendUtf8(std::string& out, char32_t c);

// The length of the longest valid UTF-8 prefix of `s` (s.size() when all of
// it is valid): no overlong forms, surrogates or code points past U+10FFFF.
size_t ValidUtf8Prefix(std::string_view s);
// Rust's String::from_utf8_lossy: each maximal invalid subsequence becomes
// one U+FFFD.
std::string Utf8Lossy(std::string_view bytes);

bool IsWhitespace(char32_t c);     // White_Space (Rust char::is_whitespace, regex \s)
bool IsNumeric(char32_t c);        // general category N* (Rust char::is_numeric)
bool IsWordChar(char32_t c);       // regex \w: letters, marks, Nd, Nl, Pc, joiners
bool IsCombiningMark(char32_t c);  // general category M*
bool IsPythonSpace(char32_t c);    // Python str.isspace

// Python's str.strip(): leading and trailing IsPythonSpace characters removed.
std::string_view PythonStrip(std::string_view s);

}  // namespace landmark::tokenizer
