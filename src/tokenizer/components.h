// The stages of a `tokenizers` pipeline that LLM tokenizers use, each
// parsed from its tokenizer.json object: normalizers, pre-tokenizers and
// decoders. Unknown types are errors naming the file and the type.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "src/tokenizer/text.h"

namespace landmark::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void Apply(Piece& piece) const = 0;
};
// null gives nullptr.
std::unique_ptr<Normalizer> ParseNormalizer(const nlohmann::json& j, const std::string& where);

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits (and may transform) every piece; pieces stay in order.
  virtual void Apply(std::vector<Piece>& pieces) const = 0;
};
std::unique_ptr<PreTokenizer> ParsePreTokenizer(const nlohmann::json& j, const std::string& where);

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Token strings in, token strings out (the last stage's are joined).
  virtual void Apply(std::vector<std::string>& tokens) const = 0;
};
std::unique_ptr<Decoder> ParseDecoder(const nlohmann::json& j, const std::string& where);

// Helpers for parsing: a member of an object, type-checked.
std::string JsonString(const nlohmann::json& j, const char* key, const std::string& where);
const nlohmann::json& JsonMember(const nlohmann::json& j, const char* key, const std::string& where);

}  // namespace landmark::tokenizer
