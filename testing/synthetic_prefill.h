// Seeded structured inputs for sparse prefill: random inputs hide nothing
// (their attention is flat, so no sparse mask can be accurate), so the
// benchmarks and tests also plant the structures sparse attention relies on.
//
// Every pattern is fixed by (pattern, tokens, heads, d, seed) alone and is
// identical on every machine and thread count. Logits are q·k/sqrt(d).
//  - random:  Q, K, V ~ N(0, 1) per element.
//  - sink:    the first kSinkTokens keys and every query share dimension 0
//             with amplitude sqrt(kPlantedLogit·sqrt(d)): a sink logit of
//             kPlantedLogit in every row; all else is noise.
//  - local:   queries and keys carry a rotary position code over the other
//             dimensions (pairs cos/sin(θ_f·t), θ_f ~ |N(0, 1/kLocalWidth²)|
//             per kv head), scaled so that q_t·k_s/sqrt(d) =
//             kPlantedLogit·K(t - s) with K(0) = 1 and K ≈ exp(-Δ²/(2·width²)):
//             queries attend the keys of the last few blocks.
//  - slash:   keys carry the code of position s + kSlashPeriod (the text
//             "repeats" with that period): query t attends keys near
//             t - kSlashPeriod, a diagonal band (offset not block aligned).
//  - mixture: sink + local + slash in every head.
// Structured patterns add N(0, kNoise²) to Q and K (not dimension 0); V is
// N(0, 1) everywhere. Far from the planted keys the code's finite sum of
// cosines leaves logits of standard deviation ~1.5-2.5 — a heavy background
// that a mask must drop without losing the planted keys.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "landmark/prefill.h"

namespace landmark::prefill {

enum class SyntheticPattern { kRandom, kSink, kLocal, kSlash, kMixture };
const char* Name(SyntheticPattern pattern);  // "random" | "sink" | "local" | "slash" | "mixture"
SyntheticPattern ParseSyntheticPattern(std::string_view name);  // throws landmark::Error

inline constexpr double kPlantedLogit = 16.0;  // peak logit of every planted structure
inline constexpr double kLocalWidth = 160.0;   // tokens, width of the local code's kernel
inline constexpr size_t kSlashPeriod = 3000;   // tokens
inline constexpr size_t kSinkTokens = 4;
inline constexpr double kNoise = 0.5;

struct SyntheticOptions {
  SyntheticPattern pattern = SyntheticPattern::kMixture;
  size_t tokens = 4096;
  size_t q_heads = 4, kv_heads = 1, d = 128;  // d >= 3 (the code needs a cos/sin pair)
  uint64_t seed = 1;
};

struct SyntheticPrefill {
  std::vector<float> q;  // [tokens][q_heads][d]
  std::vector<float> k;  // [tokens][kv_heads][d]
  std::vector<float> v;  // [tokens][kv_heads][d]
  // The planted keys of query t: tokens [0, sink_tokens) and t - o for o in
  // each inclusive offset range (local: [0, width/2], slash: period ± width/2).
  size_t sink_tokens = 0;
  std::vector<std::pair<size_t, size_t>> planted_offsets;
};

// Throws landmark::Error for d < 3 or q_heads not a multiple of kv_heads.
SyntheticPrefill MakeSyntheticPrefill(const SyntheticOptions& options);

// Share of the planted (query block i, key block j) pairs with 0 < j < i —
// those a policy must find, block 0 and the diagonal being always kept —
// that `mask` keeps, over all kv heads. NaN when the pattern plants none.
double PlantedRecall(const SyntheticPrefill& inputs, const BlockMask& mask);

}  // namespace landmark::prefill
