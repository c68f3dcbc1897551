// A compiled PCRE2 pattern (UTF, Unicode properties for \p{L}, \s, ...; JIT
// where available), for pre-tokenizer splits and Replace normalizers.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace landmark::tokenizer {

class Regex {
 public:
  // Throws landmark::Error naming `where` and PCRE2's message.
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(Regex&&) noexcept;

  // Non-overlapping non-empty matches [begin, end), left to right.
  std::vector<std::pair<size_t, size_t>> FindAll(std::string_view text) const;

 private:
  struct Code;
  std::unique_ptr<Code> code_;
};

}  // namespace landmark::tokenizer
