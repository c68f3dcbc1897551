// Test helpers for tokenizers: the fixture paths and JSON files.
#pragma once

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "landmark/tokenizer.h"
#include "tests/io/io_test_util.h"

namespace landmark::test {

inline const std::string kLlmData = std::string(LANDMARK_TEST_DATA) + "/llm/";

inline nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), path);
  return nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
}

// A tokenizer from tokenizer.json text written into `dir`.
inline Tokenizer TokenizerFromJson(const TempDir& dir, const std::string& json) {
  WriteFile(dir / "tokenizer.json", json);
  return Tokenizer::FromFile(dir / "tokenizer.json");
}

// A BPE tokenizer.json: `vocab` tokens get ids 0, 1, ... in order; `merges`
// as "a b" rules; `extra` sets the other members (normalizer, added_tokens, ...).
inline nlohmann::json BpeJson(const std::vector<std::string>& vocab, const std::vector<std::string>& merges,
                              const nlohmann::json& extra = nlohmann::json::object()) {
  nlohmann::json v = nlohmann::json::object();
  for (size_t i = 0; i < vocab.size(); ++i) v[vocab[i]] = i;
  nlohmann::json j = {{"version", "1.0"}, {"model", {{"type", "BPE"}, {"vocab", v}, {"merges", merges}}}};
  for (const auto& [key, value] : extra.items()) {
    if (key == "model") {
      for (const auto& [k, x] : value.items()) j["model"][k] = x;
    } else {
      j[key] = value;
    }
  }
  return j;
}

}  // namespace landmark::test
