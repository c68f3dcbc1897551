// The byte model's test fixtures: a tiny config (d_model 32, 2 heads, window
// 16, chunk 8), random weights of it in a temporary file, and deterministic
// text with repeats (so retrieval has something to find).
#pragma once

#include <cstdint>
#include <string>

#include "landmark/model.h"
#include "tests/temp_dir.h"
#include "testing/random_weights.h"

namespace landmark::test {

inline ModelConfig TinyConfig() {
  ModelConfig c;
  c.d_model = 32;
  c.heads = 2;
  c.head_dim = 16;
  c.mlp_hidden = 64;
  c.window = 16;
  c.chunk = 8;
  c.top_k = 2;
  return c;
}

// Deterministic text with repeats (so retrieval has something to find).
inline std::string Text(size_t n, uint32_t seed) {
  const char* words[] = {"vault ", "key ", "river ", "pass ", "is ", "The ", "quiet ", "7", "31", "? ", ". "};
  std::string s;
  uint32_t x = seed;
  while (s.size() < n) {
    x = x * 1664525u + 1013904223u;
    s += words[(x >> 16) % 11];
  }
  s.resize(n);
  return s;
}

struct TinyModel {
  TempDir dir{"model"};
  std::string path = dir / "tiny.safetensors";
  explicit TinyModel(ModelConfig c = TinyConfig(), DType dtype = DType::kF32, uint64_t seed = 7) {
    WriteRandomModel(path, c, seed, dtype);
  }
};

}  // namespace landmark::test
