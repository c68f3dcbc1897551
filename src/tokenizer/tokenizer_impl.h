// What a Tokenizer holds: the components of tokenizer.json, and what
// tokenizer_config.json / chat_template.jinja add.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "landmark/tokenizer.h"
#include "src/tokenizer/added_tokens.h"
#include "src/tokenizer/bpe.h"
#include "src/tokenizer/decoder.h"
#include "src/tokenizer/normalizer.h"
#include "src/tokenizer/post_processor.h"
#include "src/tokenizer/pre_tokenizer.h"

namespace landmark {

struct Tokenizer::Impl {
  std::string path;                                        // tokenizer.json
  std::unique_ptr<tokenizer::Normalizer> normalizer;       // may be null
  std::unique_ptr<tokenizer::PreTokenizer> pre_tokenizer;  // may be null
  std::unique_ptr<tokenizer::Bpe> model;
  tokenizer::AddedVocabulary added;
  std::unique_ptr<tokenizer::PostProcessor> post_processor;  // may be null
  std::unique_ptr<tokenizer::Decoder> decoder;               // may be null: tokens joined by spaces
  int32_t end_id = 0;                                        // the largest id + 1

  std::string bos_token, eos_token, chat_template;
  int32_t bos_id = -1, eos_id = -1;
};

namespace tokenizer {
// tokenizer.json (tokenizer_json.cc).
std::unique_ptr<Tokenizer::Impl> LoadTokenizerJson(const std::string& path);
// tokenizer_config.json and chat_template.jinja of `dir`, when present (tokenizer_config.cc).
void LoadTokenizerConfig(const std::string& dir, Tokenizer::Impl& impl);
}  // namespace tokenizer

}  // namespace landmark
