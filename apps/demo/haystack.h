// A deterministic pass-key haystack for the demo and benchmarks: filler
// prose generated from a built-in vocabulary (seeded, identical on every
// machine) with labelled needles "The pass key for vault N is K." at random
// depths. The filler never uses the needle words (pass, key, vault) or
// digits, so a needle can only be found through what the question asks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace landmark::demo {

struct HaystackOptions {
  size_t target_tokens = size_t(1) << 20;  // approximate, by the hashing tokenizer
  size_t needles = 64;
  uint64_t seed = 2026;
};

struct Needle {
  uint32_t vault = 0;       // 100..999, distinct
  uint32_t key = 0;         // 10000..99999
  size_t begin = 0, end = 0;  // byte range of the sentence in the text
  std::string question() const;  // "pass key for vault N"
};

struct Haystack {
  std::string text;
  std::vector<Needle> needles;  // in order of depth
};

Haystack GenerateHaystack(const HaystackOptions& options);

// The pass key that `text` states for `vault` ("vault N is K"), or 0.
uint32_t FindPassKey(const std::string& text, uint32_t vault);

}  // namespace landmark::demo
