// CrossDecoderConfig: validation and the TOML reader.

#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>

#include "landmark/config.h"
#include "src/gmu/cross_decoder.h"
#include "landmark/error.h"
#include "src/config/fields.h"
#include "src/core/toml_reader.h"

namespace landmark {
namespace {

constexpr size_t kNoHsa = ~size_t(0);

// Kinds from `pattern` for `count` layers.
std::vector<CrossDecoderLayer> LayersFromPattern(TomlSection& s, const std::string& pattern, size_t count) {
  std::vector<CrossDecoderLayer> layers(count);
  for (size_t i = 0; i < count; ++i) {
    bool gmu = false;
    if (pattern == "alternate") {
      gmu = i % 2 == 1;
    } else if (pattern == "gmu-second-half") {
      gmu = i >= (count + 1) / 2;
    } else if (pattern != "all-hsa") {
      s.Fail("pattern", "unknown pattern '" + pattern + "' (expected alternate, all-hsa or gmu-second-half)");
    }
    layers[i].kind = gmu ? LayerKind::kGmu : LayerKind::kHsa;
  }
  return layers;
}

// Fills memory_from for every gmu layer: the nearest earlier hsa layer, the
// first hsa layer, or explicit indices.
void AssignMemory(TomlSection& s, std::vector<CrossDecoderLayer>& layers) {
  const toml::node* node = s.Node("memory_from");
  if (node && node->is_array()) {
    const toml::array& a = *node->as_array();
    if (a.size() != layers.size()) {
      s.Fail("memory_from", "has " + std::to_string(a.size()) + " entries for " + std::to_string(layers.size()) +
                                " layers");
    }
    for (size_t i = 0; i < a.size(); ++i) {
      const auto v = a[i].value<int64_t>();
      if (!a[i].is_integer()) s.Fail("memory_from", "entry " + std::to_string(i) + " is not an integer");
      if (layers[i].kind == LayerKind::kGmu) {
        if (*v < 0) s.Fail("memory_from", "layer " + std::to_string(i) + " is gmu and needs a source layer");
        layers[i].memory_from = size_t(*v);
      }
    }
    return;
  }
  std::string rule = "previous-hsa";
  if (node) {
    if (!node->is_string()) s.Fail("memory_from", "expected \"previous-hsa\", \"first-hsa\" or an array");
    rule = *node->value<std::string>();
    if (rule != "previous-hsa" && rule != "first-hsa") {
      s.Fail("memory_from", "unknown rule '" + rule + "' (expected previous-hsa, first-hsa or an array)");
    }
  }
  size_t first = kNoHsa, previous = kNoHsa;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].kind == LayerKind::kHsa) {
      previous = i;
      if (first == kNoHsa) first = i;
    } else {
      layers[i].memory_from = rule == "first-hsa" ? first : previous;
    }
  }
}

}  // namespace

size_t CrossDecoderConfig::hsa_layers() const {
  size_t n = 0;
  for (const auto& l : layers) n += l.kind == LayerKind::kHsa;
  return n;
}

void CrossDecoderConfig::Validate() const {
  LANDMARK_CHECK_ARG(d_model > 0, "cross-decoder: d_model must be positive");
  LANDMARK_CHECK_ARG(q_heads > 0, "cross-decoder: q_heads must be positive");
  LANDMARK_CHECK_ARG(head_dim > 0, "cross-decoder: head_dim must be positive");
  LANDMARK_CHECK_ARG(!layers.empty(), "cross-decoder: no layers");
  LANDMARK_CHECK_ARG(norm_eps > 0, "cross-decoder: norm_eps must be positive");
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].kind != LayerKind::kGmu) continue;
    const size_t src = layers[i].memory_from;
    const std::string where = "cross-decoder: layer " + std::to_string(i) + " (gmu)";
    LANDMARK_CHECK_ARG(src != kNoHsa, where + " has no earlier hsa layer to take its memory from");
    LANDMARK_CHECK_ARG(src < i, where + " takes its memory from layer " + std::to_string(src) +
                                    ", which does not come before it");
    LANDMARK_CHECK_ARG(layers[src].kind == LayerKind::kHsa,
                       where + " takes its memory from layer " + std::to_string(src) + ", which is not hsa");
  }
}

CrossDecoderConfig ParseCrossDecoderConfig(const std::string& text, const std::string& source) {
  // A cross-decoder config is a preset with a [cross_decoder] section: every
  // other section is read (and refused when wrong) as every command reads it.
  const Config preset = ParseConfig(text, source);
  const toml::table root = ParseToml(text, source, {});
  TomlSection s(root["cross_decoder"].as_table(), source, "cross_decoder",
                {"d_model", "q_heads", "head_dim", "mlp_hidden", "norm_eps", "gmu", "layers", "pattern", "memory_from"});
  LANDMARK_CHECK_ARG(root.contains("cross_decoder"), source + ": no [cross_decoder] section");
  CrossDecoderConfig c;
  c.d_model = s.UInt("d_model", 0);
  c.q_heads = s.UInt("q_heads", 0);
  c.head_dim = s.UInt("head_dim", 0);
  c.mlp_hidden = s.UInt("mlp_hidden", 0);
  c.norm_eps = float(s.Number("norm_eps", 1e-6));
  try {
    c.gmu = ParseGmuVariant(s.String("gmu", Name(c.gmu)));
  } catch (const Error& e) {
    s.Fail("gmu", e.what());
  }
  const std::string pattern = s.String("pattern", "alternate");
  const toml::node* layers = s.Node("layers");
  if (layers == nullptr) s.Fail("layers", "missing (a count with `pattern`, or a list of \"hsa\"/\"gmu\")");
  if (layers->is_integer()) {
    const int64_t n = *layers->value<int64_t>();
    if (n <= 0 || n > 4096) s.Fail("layers", "must be between 1 and 4096");
    c.layers = LayersFromPattern(s, pattern, size_t(n));
  } else if (layers->is_array()) {
    if (s.Has("pattern")) s.Fail("pattern", "give either a pattern or an explicit list of layers, not both");
    for (const toml::node& kind : *layers->as_array()) {
      const auto name = kind.value<std::string>();
      const std::optional<LayerKind> k = name ? ParseLayerKind(*name) : std::nullopt;
      if (!k) s.Fail("layers", "entry " + std::to_string(c.layers.size()) + " is not \"hsa\" or \"gmu\"");
      c.layers.push_back({*k, 0});
    }
  } else {
    s.Fail("layers", "expected a count or a list of \"hsa\"/\"gmu\"");
  }
  AssignMemory(s, c.layers);

  // [retrieval] as every preset reads it (the [model] and [runtime] keys are not the cross-decoder's).
  ApplyPreset(preset, RetrievalFields(), c.retrieval, "retrieval.");
  c.retrieval.q_heads = c.q_heads;
  try {
    c.Validate();
  } catch (const Error& e) {
    LANDMARK_THROW(source + ": " + e.what());
  }
  return c;
}

CrossDecoderConfig LoadCrossDecoderConfig(const std::string& path) {
  std::ifstream in(path);
  LANDMARK_CHECK_ARG(in.good(), path + ": cannot open the config");
  std::ostringstream text;
  text << in.rdbuf();
  return ParseCrossDecoderConfig(text.str(), path);
}

}  // namespace landmark
