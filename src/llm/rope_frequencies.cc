// RoPE inverse frequencies of transformers' rope types (default, linear,
// llama3), computed step by step in f32 as transformers does, so that
// inv_freq matches its buffer bit for bit (tests/data/llm: reference.json).
#include <cmath>
#include <string>

#include "landmark/error.h"
#include "landmark/llm.h"
#include "src/llm/rope.h"

namespace landmark::llm {

std::vector<float> InverseFrequencies(const RopeConfig& rope, size_t head_dim) {
  LANDMARK_CHECK_ARG(head_dim >= 2 && head_dim % 2 == 0, "rope: head dim " + std::to_string(head_dim) + " is not even");
  const size_t half = head_dim / 2;
  std::vector<float> inv_freq(half);
  // _compute_default_rope_parameters: 1 / base^(arange(0, d, 2) / d), in f32.
  for (size_t i = 0; i < half; ++i) {
    const float exponent = float(2 * i) / float(head_dim);
    const float power = float(std::pow(rope.theta, double(exponent)));
    inv_freq[i] = 1.0f / power;
  }
  if (rope.type == "default") return inv_freq;
  const float factor = float(rope.factor);
  if (rope.type == "linear") {
    for (float& f : inv_freq) f /= factor;
    return inv_freq;
  }
  LANDMARK_CHECK_ARG(rope.type == "llama3", "rope: unsupported rope type " + rope.type);
  // _compute_llama3_parameters: long wavelengths divided by the factor,
  // short ones kept, the band between interpolated smoothly.
  const float low = float(rope.low_freq_factor), high = float(rope.high_freq_factor);
  const float old_context = float(rope.original_max_position_embeddings);
  const float low_freq_wavelen = old_context / low, high_freq_wavelen = old_context / high;
  const float two_pi = float(2.0 * M_PI);
  for (float& f : inv_freq) {
    const float wavelen = two_pi / f;
    const float scaled = wavelen > low_freq_wavelen ? f / factor : f;
    const bool medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
    if (medium) {
      const float smooth = (old_context / wavelen - low) / (high - low);
      f = (1.0f - smooth) * scaled / factor + smooth * scaled;
    } else {
      f = scaled;
    }
  }
  return inv_freq;
}

Rope::Rope(const LlmConfig& config) : Rope(InverseFrequencies(config.rope, config.head_dim)) {}

}  // namespace landmark::llm
