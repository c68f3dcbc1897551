// Text on its way through normalizers and pre-tokenizers, each byte tagged
// with the byte offset in the caller's input it came from. `tokenizers`
// keeps full (start, end) alignments; landmark reports where tokens begin,
// so one offset per byte is enough: bytes copied keep theirs, bytes a
// transformation writes take the offset of the text they stand for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace landmark::tokenizer {

struct NormalizedString {
  std::string text;              // UTF-8
  std::vector<uint32_t> origin;  // [text.size()]: byte offset in the input

  // `s` as it stands in the input, starting at byte `offset`.
  static NormalizedString Original(std::string_view s, uint32_t offset = 0) {
    NormalizedString n;
    n.text.assign(s);
    n.origin.resize(s.size());
    for (size_t i = 0; i < s.size(); ++i) n.origin[i] = offset + static_cast<uint32_t>(i);
    return n;
  }
  bool empty() const { return text.empty(); }
  NormalizedString Slice(size_t begin, size_t end) const {
    NormalizedString n;
    n.text.assign(text, begin, end - begin);
    n.origin.assign(origin.begin() + static_cast<ptrdiff_t>(begin), origin.begin() + static_cast<ptrdiff_t>(end));
    return n;
  }
};

// Builds the transformed copy of a NormalizedString left to right.
class NormalizedBuilder {
 public:
  explicit NormalizedBuilder(const NormalizedString& source) : source_(source) {
    out_.text.reserve(source.text.size());
    out_.origin.reserve(source.text.size());
  }
  // Source bytes [begin, end) unchanged.
  void Copy(size_t begin, size_t end) {
    out_.text.append(source_.text, begin, end - begin);
    out_.origin.insert(out_.origin.end(), source_.origin.begin() + static_cast<ptrdiff_t>(begin),
                       source_.origin.begin() + static_cast<ptrdiff_t>(end));
  }
  // `with`, standing for the source text at byte `at` (at the end of the
  // source: text inserted after its last byte).
  void Write(std::string_view with, size_t at) {
    const uint32_t origin = at < source_.origin.size() ? source_.origin[at]
                            : source_.origin.empty()   ? 0
                                                       : source_.origin.back() + 1;
    out_.text.append(with);
    out_.origin.insert(out_.origin.end(), with.size(), origin);
  }
  NormalizedString Finish() { return std::move(out_); }

 private:
  const NormalizedString& source_;
  NormalizedString out_;
};

}  // namespace landmark::tokenizer
