// Normalizers: the text transformations `tokenizers` applies to the text
// between added tokens before pre-tokenizing (NFC, Prepend "▁", ...).
#pragma once

#include <memory>

#include "src/tokenizer/json_fields.h"
#include "src/tokenizer/normalized_string.h"

namespace landmark::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void Normalize(NormalizedString& s) const = 0;
};

// The "normalizer" object of tokenizer.json; an error names unknown types.
std::unique_ptr<Normalizer> ParseNormalizer(const Json& node, const Where& where, int depth = 0);

}  // namespace landmark::tokenizer
