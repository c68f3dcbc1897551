// Presets read with toml++: a table of known keys, each with its type and
// where it goes; anything else in the file is an error naming it.
#include "landmark/config.h"

#include <toml++/toml.h>

#include <cmath>
#include <fstream>
#include <cstdint>
#include <functional>
#include <sstream>
#include <vector>

#include "landmark/error.h"

namespace landmark {
namespace {

enum class Kind { kCount, kNumber, kBool, kText };
const char* Describe(Kind kind) {
  switch (kind) {
    case Kind::kCount: return "an integer >= 0";
    case Kind::kNumber: return "a number";
    case Kind::kBool: return "true or false";
    case Kind::kText: return "a string";
  }
  return "?";
}

// A value read from the file, already checked against the field's kind.
struct Value {
  uint64_t count = 0;
  double number = 0;
  bool flag = false;
  std::string text;
};

struct Field {
  const char* key;  // "section.key"
  Kind kind;
  std::function<void(Config&, const Value&)> apply;  // throws landmark::Error for a bad value
};

FlashPrefillOptions::Threshold ParseThreshold(const std::string& name) {
  if (name == "alpha") return FlashPrefillOptions::Threshold::kAlpha;
  LANDMARK_CHECK_ARG(name == "delta", "threshold must be delta or alpha (got '" + name + "')");
  return FlashPrefillOptions::Threshold::kDelta;
}

DmaOptions::Importance ParseImportance(const std::string& name) {
  if (name == "qk") return DmaOptions::Importance::kPooledQK;
  LANDMARK_CHECK_ARG(name == "vnorm", "importance must be vnorm or qk (got '" + name +
                                          "'; learned weights are given to the prefill call)");
  return DmaOptions::Importance::kValueNorm;
}

const std::vector<Field>& Fields() {
  static const std::vector<Field> fields = {
      {"model.q_heads", Kind::kCount, [](Config& c, const Value& v) { c.retriever.q_heads = v.count; }},
      {"model.kv_heads", Kind::kCount,
       [](Config& c, const Value& v) { c.store.shape.kv_heads = c.encoder.kv_heads = v.count; }},
      {"model.head_dim", Kind::kCount,
       [](Config& c, const Value& v) { c.store.shape.head_dim = c.encoder.head_dim = v.count; }},
      {"store.chunk_size", Kind::kCount, [](Config& c, const Value& v) { c.store.shape.chunk_size = v.count; }},
      {"store.dtype", Kind::kText, [](Config& c, const Value& v) { c.store.shape.dtype = ParseDType(v.text, "dtype"); }},
      {"store.landmark", Kind::kText,
       [](Config& c, const Value& v) { c.store.shape.landmark = ParseLandmarkKind(v.text); }},
      {"store.landmark_heads", Kind::kCount, [](Config& c, const Value& v) { c.store.shape.landmark_heads = v.count; }},
      {"store.landmark_dim", Kind::kCount, [](Config& c, const Value& v) { c.store.shape.landmark_dim = v.count; }},
      {"store.commit_every", Kind::kCount, [](Config& c, const Value& v) { c.store.commit_every = v.count; }},
      {"store.segment_size", Kind::kText,
       [](Config& c, const Value& v) { c.store.segment_bytes = ParseByteSize(v.text, "segment_size"); }},
      {"encoder.seed", Kind::kCount, [](Config& c, const Value& v) { c.encoder.seed = v.count; }},
      {"encoder.bigram_weight", Kind::kNumber,
       [](Config& c, const Value& v) { c.encoder.bigram_weight = float(v.number); }},
      {"encoder.temperature", Kind::kNumber, [](Config& c, const Value& v) { c.temperature = float(v.number); }},
      {"retriever.top_k", Kind::kCount, [](Config& c, const Value& v) { c.retriever.top_k = v.count; }},
      {"retriever.fusion", Kind::kText, [](Config& c, const Value& v) { c.retriever.fusion = ParseFusion(v.text); }},
      {"retriever.weights", Kind::kText,
       [](Config& c, const Value& v) { c.retriever.weights = ParseRetrievalWeights(v.text); }},
      {"retriever.softmax_off_by_one", Kind::kBool,
       [](Config& c, const Value& v) { c.retriever.softmax_off_by_one = v.flag; }},
      {"retriever.window", Kind::kCount, [](Config& c, const Value& v) { c.retriever.window = v.count; }},
      {"retriever.sink_chunks", Kind::kCount, [](Config& c, const Value& v) { c.retriever.sink_chunks = v.count; }},
      {"retriever.prefetch", Kind::kBool, [](Config& c, const Value& v) { c.retriever.prefetch = v.flag; }},
      {"prefill.policy", Kind::kText, [](Config& c, const Value& v) { c.prefill.policy = ParsePrefillPolicy(v.text); }},
      {"prefill.block", Kind::kCount, [](Config& c, const Value& v) { c.prefill.block = v.count; }},
      {"prefill.flashprefill.threshold", Kind::kText,
       [](Config& c, const Value& v) { c.prefill.flashprefill.threshold = ParseThreshold(v.text); }},
      {"prefill.flashprefill.delta", Kind::kNumber,
       [](Config& c, const Value& v) { c.prefill.flashprefill.delta = float(v.number); }},
      {"prefill.flashprefill.alpha", Kind::kNumber,
       [](Config& c, const Value& v) { c.prefill.flashprefill.alpha = float(v.number); }},
      {"prefill.flashprefill.vertical_fraction", Kind::kNumber,
       [](Config& c, const Value& v) { c.prefill.flashprefill.vertical_fraction = v.number; }},
      {"prefill.flashprefill.slash_count", Kind::kCount,
       [](Config& c, const Value& v) { c.prefill.flashprefill.slash_count = v.count; }},
      {"prefill.dma.importance", Kind::kText,
       [](Config& c, const Value& v) { c.prefill.dma.importance = ParseImportance(v.text); }},
      {"prefill.dma.sparsity", Kind::kNumber, [](Config& c, const Value& v) { c.prefill.dma.sparsity = v.number; }},
      {"prefill.dma.window", Kind::kCount, [](Config& c, const Value& v) { c.prefill.dma.window = v.count; }},
      {"prefill.dma.stride", Kind::kCount, [](Config& c, const Value& v) { c.prefill.dma.stride = v.count; }},
      {"prefill.dma.dilation", Kind::kCount, [](Config& c, const Value& v) { c.prefill.dma.dilation = v.count; }},
      {"prefill.dma.dilated_count", Kind::kCount,
       [](Config& c, const Value& v) { c.prefill.dma.dilated_count = v.count; }},
      {"runtime.threads", Kind::kCount, [](Config& c, const Value& v) { c.threads = v.count; }},
  };
  return fields;
}

std::string Where(const std::string& source, const toml::node& node) {
  const toml::source_position begin = node.source().begin;
  return begin.line ? source + ":" + std::to_string(begin.line) : source;
}

// The known keys of a section, for the message about an unknown one.
std::string KnownKeys(const std::string& section) {
  std::string keys;
  for (const Field& f : Fields()) {
    const std::string key = f.key;
    if (key.rfind(section + ".", 0) != 0) continue;
    const std::string rest = key.substr(section.size() + 1);
    if (rest.find('.') != std::string::npos) continue;
    keys += (keys.empty() ? "" : ", ") + rest;
  }
  return keys;
}

bool IsSection(const std::string& path) {
  for (const Field& f : Fields()) {
    if (std::string(f.key).rfind(path + ".", 0) == 0) return true;
  }
  return false;
}

Value Read(const toml::node& node, Kind kind, const std::string& key, const std::string& where) {
  Value v;
  bool ok = false;
  switch (kind) {
    case Kind::kCount:
      if (auto i = node.value_exact<int64_t>()) {
        ok = *i >= 0;
        v.count = uint64_t(*i);
        v.text = std::to_string(v.count);
      }
      break;
    case Kind::kNumber:
      if (auto x = node.value<double>()) {  // integers are numbers too
        ok = std::isfinite(*x);
        v.number = *x;
        std::ostringstream text;
        text.precision(17);
        text << *x;
        v.text = text.str();
      }
      break;
    case Kind::kBool:
      if (auto b = node.value_exact<bool>()) {
        ok = true;
        v.flag = *b;
        v.text = *b ? "true" : "false";
      }
      break;
    case Kind::kText:
      if (auto s = node.value_exact<std::string>()) {
        ok = true;
        v.text = *s;
      } else if (auto i = node.value_exact<int64_t>(); i && key == "store.segment_size" && *i > 0) {
        ok = true;  // bytes as a plain integer
        v.text = std::to_string(*i);
      }
      break;
  }
  LANDMARK_CHECK_ARG(ok, where + ": " + key + " must be " + Describe(kind));
  return v;
}

void Walk(const toml::table& table, const std::string& prefix, const std::string& source, Config& config) {
  for (auto&& [name, node] : table) {
    const std::string key = prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
    const std::string where = Where(source, node);
    if (const toml::table* sub = node.as_table()) {
      LANDMARK_CHECK_ARG(IsSection(key), where + ": unknown section [" + key + "]" +
                                             (prefix.empty() ? " (known: model, store, encoder, retriever, "
                                                               "prefill, runtime)"
                                                             : " (known in [" + prefix + "]: " + KnownKeys(prefix) + ")"));
      Walk(*sub, key, source, config);
      continue;
    }
    const Field* field = nullptr;
    for (const Field& f : Fields()) {
      if (key == f.key) field = &f;
    }
    LANDMARK_CHECK_ARG(field != nullptr,
                       where + ": unknown key '" + key + "'" +
                           (prefix.empty() ? std::string(" (keys belong in a section: [model], [store], ...)")
                                           : " (known in [" + prefix + "]: " + KnownKeys(prefix) + ")"));
    const Value value = Read(node, field->kind, key, where);
    try {
      field->apply(config, value);
    } catch (const Error& e) {
      LANDMARK_THROW(where + ": " + key + ": " + e.what());
    }
    config.values[key] = value.text;
  }
}

}  // namespace

Config ParseConfig(std::string_view text, const std::string& source) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    LANDMARK_THROW(source + ":" + std::to_string(e.source().begin.line) + ": not valid TOML: " +
                   std::string(e.description()));
  }
  Config config;
  config.source = source;
  Walk(table, "", source, config);
  return config;
}

Config LoadConfig(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  LANDMARK_CHECK_ARG(file.good(), path + ": cannot open the config file");
  std::ostringstream text;
  text << file.rdbuf();
  return ParseConfig(text.str(), path);
}

size_t ParseByteSize(const std::string& text, const std::string& what) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string suffix = text.substr(used);
  double scale = 1;
  if (suffix == "K" || suffix == "k" || suffix == "KiB") scale = 1024;
  else if (suffix == "M" || suffix == "MiB") scale = 1 << 20;
  else if (suffix == "G" || suffix == "GiB") scale = double(1ull << 30);
  else LANDMARK_CHECK_ARG(suffix.empty(), what + ": cannot read '" + text + "' as a size (e.g. 1G, 512M)");
  LANDMARK_CHECK_ARG(used > 0 && value > 0, what + ": cannot read '" + text + "' as a size (e.g. 1G, 512M)");
  return size_t(value * scale);
}

}  // namespace landmark
