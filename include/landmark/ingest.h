// Streaming ingest into a StoreWriter: text through the built-in hashing
// encoder, or keys/values (and learned landmarks) exported by a model.
// Memory stays bounded: inputs are mapped or read in pieces.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "landmark/encoder.h"
#include "landmark/store.h"

namespace landmark {

struct IngestProgress {
  uint64_t tokens = 0;        // appended so far
  uint64_t input_bytes = 0;   // of input consumed so far
  uint64_t input_total = 0;   // of input in all (0 if unknown)
  size_t files_done = 0, files_total = 0;
  std::string current;        // the input being read
};
using IngestProgressFn = std::function<void(const IngestProgress&)>;

struct IngestStats {
  uint64_t tokens = 0;
  uint64_t input_bytes = 0;
  size_t files = 0;
  std::vector<std::string> skipped;  // "path: reason" for each file left out (duplicates too)
  size_t duplicates = 0;             // of them, files whose content the store already holds
};

struct TextIngestOptions {
  HashingEncoderOptions encoder;  // kv_heads and head_dim must match the store
  bool strict = false;            // a file that is not UTF-8 text is an error (else skipped)
  bool force = false;             // indexed stores: add a file whose content is already there
  std::function<void(const std::string&)> warn;  // told of each skipped file
};

// Options for a new text store made by `encoder`: its shape (kv heads, head
// dim), text kept, and the encoder recorded in the manifest so that appends
// and queries use the same one (HashingEncoderOptionsOf).
StoreOptions TextStoreOptions(const HashingEncoderOptions& encoder);

// Appends every text file under `inputs` (files or directories, sorted) to a
// store created with text on. Each file is one document. Stores with a text
// index (text_index.h) also keep its terms, source and table line, and skip
// a file whose content (xxh3-64) a live document has, unless `force`.
// Files are read in pieces of 64 KiB: memory stays bounded.
IngestStats IngestText(StoreWriter& writer, const std::vector<std::string>& inputs,
                       const TextIngestOptions& options, const IngestProgressFn& progress = {});

// Appends `text` as one document named `name` (as IngestText does a file).
IngestStats IngestTextDocument(StoreWriter& writer, std::string_view text, const std::string& name,
                               const TextIngestOptions& options);

struct TensorIngestOptions {
  std::string keys, values;  // "K.npy" or "file.safetensors[:NAME]", shape [n, kv_heads, head_dim]
  std::string landmarks;     // learned stores: [chunks, landmark_heads, landmark_dim]; row i is
                             // the landmark of the i-th chunk this ingest completes
  size_t slice_tokens = 8192;  // tokens per append (bounded work per step)
  // Only tokens [first_token, end_token) of the inputs (one shard of a
  // sharded store); first_token a multiple of the chunk size, whose learned
  // landmarks start at row first_token / chunk size.
  size_t first_token = 0, end_token = size_t(-1);
};

IngestStats IngestTensors(StoreWriter& writer, const TensorIngestOptions& options,
                          const IngestProgressFn& progress = {});

}  // namespace landmark
