// What the store side (ingest, answering) needs of a loaded model beyond
// include/landmark/llm.h: its attention shape, its trained context, the
// tokenizer of its directory, the ids that end an answer, and an identity
// for the store's metadata.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "landmark/llm.h"
#include "landmark/llm_store.h"
#include "landmark/tokenizer.h"
#include "src/llm/store_attention.h"

namespace landmark::llm {

AttentionShape ShapeOf(const LlmModel& model);
// The model's trained context (max_position_embeddings).
size_t TrainedContext(const LlmModel& model);
// The smallest sliding window of its layers (0: none).
size_t SmallestWindow(const LlmModel& model);
// xxh3 of config.json, tokenizer.json and every weight file's size and
// safetensors header (tensor names, shapes, dtypes, offsets), hex: the
// model a store was written by (values are not read: loading stays fast).
std::string ModelDigest(const LlmModel& model);
std::string ModelName(const LlmModel& model);  // the directory's name
// The config's eos ids, the tokenizer's eos and the end of a chat turn.
std::vector<int32_t> StopIds(const LlmModel& model, const Tokenizer& tokenizer);

// The store attention of resolved retrieval options (ingest and answers
// read the store the same way; segments on the CPU).
StoreAttentionOptions AttentionOptionsOf(const LlmRetrievalOptions& retrieval);

}  // namespace landmark::llm
