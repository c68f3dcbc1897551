// Post-processors: the special tokens put around an encoded sequence
// (Llama's BOS), what `tokenizers` adds with add_special_tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "src/tokenizer/json_fields.h"

namespace landmark::tokenizer {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Adds the special tokens of a single sequence around `ids`; a token
  // added gets the offset of the token after it, or `text_size` at the end.
  virtual void Process(std::vector<int32_t>& ids, std::vector<size_t>* offsets, size_t text_size) const = 0;
};

// The "post_processor" object of tokenizer.json; ids must be < `end_id`.
std::unique_ptr<PostProcessor> ParsePostProcessor(const Json& node, const Where& where, int32_t end_id, int depth = 0);

}  // namespace landmark::tokenizer
