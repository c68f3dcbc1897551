// Pre-tokenizers: split normalized text into the words BPE merges within
// (a regex, digits, Metaspace's "▁"), and map byte-level text to its
// alphabet. Each splits every piece it is given; empty pieces are dropped.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "src/tokenizer/json_fields.h"
#include "src/tokenizer/normalized_string.h"

namespace landmark::tokenizer {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void PreTokenize(std::vector<NormalizedString>& pieces) const = 0;
};

// Metaspace's fields, shared by the pre-tokenizer and the decoder.
struct MetaspaceOptions {
  enum class Prepend { kAlways, kFirst, kNever };
  std::string replacement;  // one character, "▁" in practice
  Prepend prepend = Prepend::kAlways;
  bool split = true;
};
MetaspaceOptions ParseMetaspaceOptions(const Json& node, const Where& where);

// The "pre_tokenizer" object of tokenizer.json; an error names unknown types.
std::unique_ptr<PreTokenizer> ParsePreTokenizer(const Json& node, const Where& where, int depth = 0);

}  // namespace landmark::tokenizer
