// Synthetic stores for the benchmarks: unit-variance noise keys and values,
// with planted needle chunks.
#include "perf/synthetic_store.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>

#include "landmark/shard.h"
#include "landmark/store.h"

namespace landmark::perf {
namespace {

namespace fs = std::filesystem;

constexpr size_t kChunk = 64;
constexpr size_t kPlantedTokens = 16;  // tokens of a needle chunk carrying the needle direction
constexpr float kPlantedGain = 4.0f;   // their keys get + gain · u
constexpr float kQueryGain = 3.0f;     // queries are gain · u

// xorshift32 -> uniform on (-sqrt 3, sqrt 3): unit variance, fast enough for gigabytes.
struct Uniform {
  uint32_t state;
  uint32_t Bits() {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  }
  float Next() {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return (float(state) * (2.0f / 4294967296.0f) - 1.0f) * 1.7320508f;
  }
};

std::vector<float> UnitVector(size_t d, Uniform& rng) {
  std::vector<float> u(d);
  double norm = 0;
  for (float& x : u) {
    x = rng.Next();
    norm += double(x) * x;
  }
  for (float& x : u) x = float(x / std::sqrt(norm));
  return u;
}

// n tokens, H kv heads, d dims (f16, mean landmarks, S = 64) of unit-variance
// noise, with `needles` chunks whose keys carry a needle direction.
}  // namespace

Planted BuildStore(const std::string& dir, size_t n, size_t H, size_t G, size_t d, size_t needles, uint32_t seed,
                   const std::function<void(const std::string&)>& progress, size_t shards,
                   const std::string& shard_prefix) {
  Uniform rng{seed};
  Planted planted;
  const size_t chunks = n / kChunk;
  std::vector<std::vector<float>> directions;  // [needle × H][d]
  for (size_t i = 0; i < needles; ++i) {
    size_t c;
    do {
      c = rng.Bits() % chunks;
    } while (std::find(planted.chunks.begin(), planted.chunks.end(), c) != planted.chunks.end());
    planted.chunks.push_back(c);
    for (size_t h = 0; h < H; ++h) {
      directions.push_back(UnitVector(d, rng));
      for (size_t g = 0; g < G; ++g) {
        for (float x : directions.back()) planted.queries.push_back(kQueryGain * x);
      }
    }
  }
  StoreOptions options;
  options.shape = {kChunk, H, d, DType::kF16, LandmarkKind::kMean, 0, 0};
  fs::remove_all(dir);
  StoreWriter writer = StoreWriter::Create(dir, options);
  // Shard i holds tokens [bounds[i], bounds[i + 1]).
  std::vector<StoreWriter> shard_writers;
  std::vector<size_t> bounds;
  if (shards > 0) fs::remove_all(shard_prefix);
  for (size_t i = 0; i < shards; ++i) {
    shard_writers.push_back(StoreWriter::Create(ShardPath(shard_prefix, i), options));
    bounds.push_back(i * chunks / shards * kChunk);
  }
  bounds.push_back(n);
  const size_t batch_tokens = 4096;
  std::vector<float> keys(batch_tokens * H * d), values(keys.size());
  for (size_t first = 0; first < n; first += batch_tokens) {
    const size_t tokens = std::min(batch_tokens, n - first);
    for (size_t i = 0; i < tokens * H * d; ++i) {
      keys[i] = rng.Next();
      values[i] = rng.Next();
    }
    for (size_t i = 0; i < needles; ++i) {
      const size_t c = planted.chunks[i];
      for (size_t t = c * kChunk + 16; t < c * kChunk + 16 + kPlantedTokens; ++t) {
        if (t < first || t >= first + tokens) continue;
        for (size_t h = 0; h < H; ++h) {
          for (size_t k = 0; k < d; ++k) keys[((t - first) * H + h) * d + k] += kPlantedGain * directions[i * H + h][k];
        }
      }
    }
    TokenBatch batch;
    batch.tokens = tokens;
    batch.keys = keys.data();
    batch.values = values.data();
    writer.Append(batch);
    for (size_t i = 0; i < shards; ++i) {  // the part of the batch in shard i
      const size_t from = std::max(first, bounds[i]), to = std::min(first + tokens, bounds[i + 1]);
      if (from >= to) continue;
      TokenBatch part;
      part.tokens = to - from;
      part.keys = keys.data() + (from - first) * H * d;
      part.values = values.data() + (from - first) * H * d;
      shard_writers[i].Append(part);
    }
    if (first % (size_t(1) << 22) == 0 && first) progress(fmt::format("  {} / {} tokens", first, n));
  }
  writer.Close();
  for (StoreWriter& w : shard_writers) w.Close();
  return planted;
}


}  // namespace landmark::perf
