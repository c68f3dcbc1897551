// Structured sparse-prefill inputs (the patterns are described in synthetic.h).

#include "testing/synthetic_prefill.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "landmark/error.h"
#include "src/core/enum_names.h"

namespace landmark::prefill {
namespace {

constexpr size_t kChunkTokens = 256;  // tokens per independently seeded stream
constexpr double kTwoPi = 6.283185307179586;

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Normal deviates (Box–Muller) from a splitmix64 stream named by its seed,
// so each chunk of tokens draws the same numbers on every thread count.
class Normal {
 public:
  explicit Normal(uint64_t seed) : state_(seed) {}
  double operator()() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = (double(Next() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = double(Next() >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(kTwoPi * u2);
    has_spare_ = true;
    return r * std::cos(kTwoPi * u2);
  }

 private:
  uint64_t Next() { return SplitMix64(state_++ * 0x2545f4914f6cdd1dull); }
  uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

uint64_t StreamSeed(uint64_t seed, uint64_t tensor, uint64_t chunk) {
  return SplitMix64(SplitMix64(SplitMix64(seed) ^ tensor) ^ chunk);
}

bool Has(SyntheticPattern p, SyntheticPattern part) {
  return p == part || (p == SyntheticPattern::kMixture && part != SyntheticPattern::kRandom);
}

// Adds amplitude · [cos(θ_f p), sin(θ_f p)]_f to dims 1..2M of `row`.
void AddCode(const std::vector<double>& theta, double position, double amplitude, float* row) {
  for (size_t f = 0; f < theta.size(); ++f) {
    const double angle = theta[f] * position;
    row[1 + 2 * f] += float(amplitude * std::cos(angle));
    row[2 + 2 * f] += float(amplitude * std::sin(angle));
  }
}

}  // namespace

constexpr EnumName<SyntheticPattern> kSyntheticPatternNames[] = {
    {SyntheticPattern::kRandom, "random"}, {SyntheticPattern::kSink, "sink"},       {SyntheticPattern::kLocal, "local"},
    {SyntheticPattern::kSlash, "slash"},   {SyntheticPattern::kMixture, "mixture"}};

const char* Name(SyntheticPattern pattern) { return NameIn(kSyntheticPatternNames, pattern); }
SyntheticPattern ParseSyntheticPattern(std::string_view name) {
  return ParseIn(kSyntheticPatternNames, name, "synthetic pattern");
}

SyntheticPrefill MakeSyntheticPrefill(const SyntheticOptions& o) {
  LANDMARK_CHECK_ARG(o.d >= 3, "synthetic prefill: head dim must be >= 3 (got " + std::to_string(o.d) + ")");
  LANDMARK_CHECK_ARG(o.kv_heads > 0 && o.q_heads % o.kv_heads == 0 && o.q_heads > 0,
                     "synthetic prefill: query heads must be a positive multiple of kv heads");
  const size_t L = o.tokens, d = o.d, group = o.q_heads / o.kv_heads;
  const SyntheticPattern p = o.pattern;
  const bool random = p == SyntheticPattern::kRandom;
  const bool sink = Has(p, SyntheticPattern::kSink), local = Has(p, SyntheticPattern::kLocal);
  const bool slash = Has(p, SyntheticPattern::kSlash);
  SyntheticPrefill out;
  out.q.assign(L * o.q_heads * d, 0.0f);
  out.k.assign(L * o.kv_heads * d, 0.0f);
  out.v.assign(L * o.kv_heads * d, 0.0f);
  if (sink) out.sink_tokens = kSinkTokens;
  const size_t half_width = size_t(kLocalWidth / 2);
  if (local) out.planted_offsets.push_back({0, half_width});
  if (slash) out.planted_offsets.push_back({kSlashPeriod - half_width, kSlashPeriod + half_width});

  // Rotary code frequencies per kv head; amplitudes make the planted logit
  // kPlantedLogit: code·code/sqrt(d) = amplitude² · Σ_f cos(θ_f Δ) / sqrt(d).
  const size_t pairs = (d - 1) / 2;
  std::vector<std::vector<double>> theta(o.kv_heads, std::vector<double>(pairs));
  for (size_t h = 0; h < o.kv_heads; ++h) {
    Normal normal(StreamSeed(o.seed, 1000 + h, 0));
    for (double& t : theta[h]) t = std::fabs(normal()) / kLocalWidth;
  }
  const double code_amplitude = std::sqrt(kPlantedLogit * std::sqrt(double(d)) / double(pairs));
  const double sink_amplitude = std::sqrt(kPlantedLogit * std::sqrt(double(d)));
  const double noise = random ? 1.0 : kNoise;
  const size_t first_noise_dim = random ? 0 : 1;

  const size_t chunks = (L + kChunkTokens - 1) / kChunkTokens;
  tbb::parallel_for(tbb::blocked_range<size_t>(0, chunks, 1), [&](const tbb::blocked_range<size_t>& range) {
    for (size_t c = range.begin(); c != range.end(); ++c) {
      Normal q_noise(StreamSeed(o.seed, 1, c)), k_noise(StreamSeed(o.seed, 2, c));
      Normal v_noise(StreamSeed(o.seed, 3, c));
      for (size_t t = c * kChunkTokens; t < std::min(L, (c + 1) * kChunkTokens); ++t) {
        for (size_t h = 0; h < o.kv_heads; ++h) {
          float* k = out.k.data() + (t * o.kv_heads + h) * d;
          float* v = out.v.data() + (t * o.kv_heads + h) * d;
          for (size_t x = first_noise_dim; x < d; ++x) k[x] = float(noise * k_noise());
          for (size_t x = 0; x < d; ++x) v[x] = float(v_noise());
          if (sink && t < kSinkTokens) k[0] = float(sink_amplitude);
          if (local) AddCode(theta[h], double(t), code_amplitude, k);
          if (slash) AddCode(theta[h], double(t + kSlashPeriod), code_amplitude, k);
          for (size_t g = 0; g < group; ++g) {
            float* q = out.q.data() + (t * o.q_heads + h * group + g) * d;
            for (size_t x = first_noise_dim; x < d; ++x) q[x] = float(noise * q_noise());
            if (sink) q[0] = float(sink_amplitude);
            if (local || slash) AddCode(theta[h], double(t), code_amplitude, q);
          }
        }
      }
    }
  });
  return out;
}

double PlantedRecall(const SyntheticPrefill& inputs, const BlockMask& mask) {
  const size_t B = mask.block, nb = mask.blocks, L = mask.tokens;
  size_t planted = 0, kept = 0;
  for (size_t i = 1; i < nb; ++i) {
    const size_t first = i * B, last = std::min(L, first + B) - 1;  // query tokens
    for (size_t j = 1; j < i; ++j) {
      // Key tokens [j·B, j·B + B - 1]: offsets t - s span [first - j·B - B + 1, last - j·B].
      const size_t low = first - j * B - (B - 1), high = last - j * B;
      bool is_planted = j * B < inputs.sink_tokens;
      for (const auto& [lo, hi] : inputs.planted_offsets) is_planted |= lo <= high && low <= hi;
      if (!is_planted) continue;
      for (size_t h = 0; h < mask.heads; ++h) {
        ++planted;
        kept += mask.selected(h, i, j);
      }
    }
  }
  return planted ? double(kept) / double(planted) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace landmark::prefill
