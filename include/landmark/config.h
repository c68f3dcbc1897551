// Presets (configs/*.toml): one TOML file gives the model's shapes, the
// store's layout, the text encoder, the retrieval engine, the prefill policy
// and the thread count, read by the CLI (`--config FILE`), the C API and the
// Python package. Every key is optional (absent: the library's default);
// an unknown section or key, or a value of the wrong type, is an error
// naming the file, the section and the key. A [cross_decoder] section is
// left to the cross-decoder's reader (cross_decoder.h).
//
// The keys, their types, ranges, defaults and command-line flags:
// configs/README.md (`landmark config --doc`), generated from the tables of
// fields that every reader of options shares (src/config/fields.h).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "landmark/encoder.h"
#include "landmark/prefill.h"
#include "landmark/retriever.h"
#include "landmark/store.h"

namespace landmark {

struct Config {
  std::string source;          // the file (or name) it was read from
  StoreOptions store;          // shape: [model] kv_heads/head_dim + [store]
  HashingEncoderOptions encoder;  // kv_heads/head_dim from [model]
  float temperature = 16.0f;   // text queries: logit scale of a matching token
  RetrieverConfig retriever;   // q_heads from [model]
  SparsePrefillOptions prefill;
  size_t threads = 0;
  // Every key the file sets, "section.key" (e.g. "retrieval.top_k") -> the
  // value as command-line text ("64", "joint", "true").
  std::map<std::string, std::string> values;

  bool has(const std::string& key) const { return values.count(key) != 0; }
};

// Reads a preset; throws landmark::Error naming the file, section and key.
Config LoadConfig(const std::string& path);
// The same from TOML text; `source` names it in messages.
Config ParseConfig(std::string_view toml, const std::string& source);

// "4096", "512K", "64M", "1G" (binary units) -> bytes; throws naming `what`.
size_t ParseByteSize(const std::string& text, const std::string& what);

}  // namespace landmark
