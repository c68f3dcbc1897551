// The parts of an LLM store that are not K/V (docs/llm.md): the metadata
// keys, the chat preamble and question wrapper, the documents table and
// the chunk sources (both store attachments, committed with the K/V).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "landmark/llm.h"
#include "landmark/llm_store.h"
#include "landmark/store.h"
#include "landmark/tokenizer.h"
#include "src/store/documents.h"

namespace landmark::llm {

inline constexpr const char* kDocumentsAttachment = "llm-documents";
inline constexpr const char* kSourcesAttachment = "llm-sources";
inline constexpr const char* kTokensAttachment = "llm-tokens";  // u32 LE per token: the stream's ids

// How the stream of a store is wrapped in the chat template: the preamble
// (everything before the user's message), then documents, then a question
// as question_prefix + question + question_suffix (closing the user's turn,
// opening the assistant's).
struct ChatFrame {
  std::string format;  // "llama3", "chatml", ... or "raw"
  std::string preamble, question_prefix = "\n\nQuestion: ", question_suffix;

  // From the model's template (format ""), a forced family, or "raw".
  static ChatFrame Make(const Tokenizer& tokenizer, const std::string& format, const std::string& system);
  void ToMetadata(std::map<std::string, std::string>& metadata) const;
  static ChatFrame FromMetadata(const StoreInfo& info);
};

// "### File: PATH\n\n" — the header line of a document in the stream.
std::string DocumentHeader(const std::string& path);
inline constexpr const char* kDocumentTrailer = "\n\n";

// The documents table and chunk sources: src/store/documents.h.
inline std::vector<LlmDocument> ParseDocuments(std::string_view attachment, const std::string& where) {
  return landmark::ParseDocuments(attachment, where, kDocumentsAttachment);
}

// The store's recorded model identity matches `model` (else an error naming
// the store, what it was written by and what is given).
void CheckModel(const StoreInfo& info, const LlmModel& model);
void ModelToMetadata(const LlmModel& model, std::map<std::string, std::string>& metadata);

}  // namespace landmark::llm
