// `ingest --model DIR` and `ask` for pretrained Hugging Face LLMs: the
// ingest and ask commands dispatch here when --model names a model
// directory (config.json inside) or the store was written by an LLM.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "landmark/llm_store.h"

namespace landmark::cli {

bool IsLlmDirectory(const std::string& spec);
bool IsLlmStore(const std::string& dir);

// --window, --top-k, --sinks, --select-block, --true-positions, --dense-prefill.
void AddLlmRetrievalOptions(CLI::App& command, llm::LlmRetrievalOptions& retrieval);

struct LlmIngestArgs {
  std::string model, out;
  std::vector<std::string> inputs;
  llm::LlmIngestOptions options;
  bool strict = false;
};
void RunLlmIngest(const LlmIngestArgs& args);

struct LlmAskArgs {
  std::string model, store;
  std::vector<std::string> questions;
  llm::LlmRetrievalOptions retrieval;
  llm::GenerateOptions generation;
  bool json = false;  // the answers as one JSON array on stdout (no streaming)
};
void RunLlmAsk(const LlmAskArgs& args);

}  // namespace landmark::cli
