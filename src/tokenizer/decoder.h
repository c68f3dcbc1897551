// Decoders: token strings back to text (byte-level characters to bytes,
// "▁" to spaces, <0xNN> pieces to bytes, ...), as `tokenizers`' decode_chain.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "src/tokenizer/json_fields.h"

namespace landmark::tokenizer {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Rewrites the token strings; the text is their concatenation.
  virtual void DecodeChain(std::vector<std::string>& tokens) const = 0;
};

// The "decoder" object of tokenizer.json; an error names unknown types.
std::unique_ptr<Decoder> ParseDecoder(const Json& node, const Where& where, int depth = 0);

}  // namespace landmark::tokenizer
