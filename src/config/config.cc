// Presets read with toml++ through the strict section reader
// (src/core/toml_reader.h), the sections and keys from the tables of fields
// (src/config/fields.h): every key typed and known, each one the file sets
// also recorded as command-line text for `--config`.
#include "landmark/config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "landmark/error.h"
#include "src/config/field_makers.h"
#include "src/config/fields.h"
#include "src/core/toml_reader.h"

namespace landmark {
namespace {

using field_makers::ShortestText;

std::string_view SectionOf(std::string_view key) { return key.substr(0, key.rfind('.')); }
std::string_view LeafOf(std::string_view key) { return key.substr(key.rfind('.') + 1); }

// The preset's sections, [a] and [a.b], each a strict reader of the keys
// and sub-tables the fields give it.
class Sections {
 public:
  Sections(const toml::table& root, const std::string& source) {
    std::vector<std::string> paths;  // in order of first appearance
    std::map<std::string, std::vector<std::string>> children;
    auto add_child = [&](const std::string& parent, const std::string& child) {
      auto& list = children[parent];
      if (std::find(list.begin(), list.end(), child) == list.end()) list.push_back(child);
    };
    for (const FieldInfo& f : AllFields()) {
      const std::string section(SectionOf(f.key));
      for (size_t dot = section.find('.'); dot != std::string::npos; dot = section.find('.', dot + 1)) {
        add_child(section.substr(0, dot), section.substr(dot + 1, section.find('.', dot + 1) - dot - 1));
      }
      add_child(section, std::string(LeafOf(f.key)));
      for (size_t end = 0; end != std::string::npos;) {
        end = section.find('.', end + 1);
        const std::string path = section.substr(0, end);
        if (std::find(paths.begin(), paths.end(), path) == paths.end()) paths.push_back(path);
      }
    }
    for (const std::string& path : paths) {
      const size_t dot = path.rfind('.');
      const toml::table* table = nullptr;
      if (dot == std::string::npos) {
        table = root[path].as_table();
      } else {
        TomlSection& parent = sections_.at(path.substr(0, dot));
        const std::string child = path.substr(dot + 1);
        const toml::node* n = parent.Node(child);
        if (n && !n->is_table()) parent.Fail(child, "expected a [" + path + "] table");
        table = n ? n->as_table() : nullptr;
      }
      sections_.emplace(path, TomlSection(table, source, path, children[path]));
    }
  }

  // Sets `options` from every field of `fields` the file holds; records
  // each as text in `values`.
  template <class T>
  void Read(std::span<const Field<T>> fields, T& options, std::map<std::string, std::string>& values) {
    for (const Field<T>& f : fields) {
      TomlSection& s = sections_.at(std::string(SectionOf(f.key)));
      const std::string leaf(LeafOf(f.key));
      if (!s.Has(leaf)) continue;
      const std::string text = Text(s, leaf, f.type);
      try {
        f.set(f, options, text);
      } catch (const Error& e) {
        s.Fail(leaf, e.what());
      }
      values[f.key] = text;
    }
  }

  TomlSection& at(const std::string& path) { return sections_.at(path); }

 private:
  // The value as command-line text, its TOML type checked.
  static std::string Text(TomlSection& s, const std::string& key, FieldType type) {
    switch (type) {
      case FieldType::kCount: return std::to_string(s.UInt(key, 0));
      case FieldType::kReal: {
        const double value = s.Number(key, 0);
        if (!std::isfinite(value)) s.Fail(key, "expected a finite number");
        return ShortestText(value);
      }
      case FieldType::kBool: return s.Bool(key, false) ? "true" : "false";
      case FieldType::kChoice: return s.String(key, "");
      case FieldType::kBytes: {
        const toml::node* n = s.Node(key);
        if (n->is_integer()) return std::to_string(s.UInt(key, 0));
        if (!n->is_string()) s.Fail(key, "expected a byte count or a size such as \"1G\"");
        return s.String(key, "");
      }
    }
    return "";
  }

  std::map<std::string, TomlSection> sections_;
};

std::vector<std::string> TopSections() {
  std::vector<std::string> tops;
  for (const FieldInfo& f : AllFields()) {
    const std::string top = f.key.substr(0, f.key.find('.'));
    if (std::find(tops.begin(), tops.end(), top) == tops.end()) tops.push_back(top);
  }
  tops.push_back("cross_decoder");  // the cross-decoder's own reader (LoadCrossDecoderConfig)
  return tops;
}

}  // namespace

Config ParseConfig(std::string_view text, const std::string& source) {
  const toml::table root = ParseToml(std::string(text), source, TopSections());
  Sections sections(root, source);
  Config c;
  c.source = source;
  sections.Read(StoreFields(), c.store, c.values);
  sections.Read(EncoderFields(), c.encoder, c.values);
  sections.Read(TextQueryFields(), c, c.values);
  sections.Read(RetrievalFields(), c.retriever, c.values);
  sections.Read(PrefillFields(), c.prefill, c.values);
  sections.Read(RuntimeFields(), c, c.values);
  // The text encoder has the store's shape.
  c.encoder.kv_heads = c.store.shape.kv_heads;
  c.encoder.head_dim = c.store.shape.head_dim;
  if (c.prefill.dma.importance == DmaOptions::Importance::kLearned) {
    sections.at("prefill.dma").Fail("importance", "expected vnorm or qk, got 'learned' (learned weights are given to the prefill call)");
  }
  return c;
}

Config LoadConfig(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  LANDMARK_CHECK_ARG(file.good(), path + ": cannot open the config file");
  std::ostringstream text;
  text << file.rdbuf();
  return ParseConfig(text.str(), path);
}

template <class T>
void ApplyPreset(const Config& preset, std::span<const Field<T>> fields, T& options, std::string_view prefix) {
  for (const Field<T>& f : fields) {
    if (!std::string_view(f.key).starts_with(prefix)) continue;
    const auto it = preset.values.find(f.key);
    if (it != preset.values.end()) SetField(f, options, it->second, preset.source + ": " + f.key);
  }
}
template void ApplyPreset(const Config&, std::span<const Field<RetrieverConfig>>, RetrieverConfig&, std::string_view);
template void ApplyPreset(const Config&, std::span<const Field<SparsePrefillOptions>>, SparsePrefillOptions&,
                          std::string_view);
template void ApplyPreset(const Config&, std::span<const Field<StoreOptions>>, StoreOptions&, std::string_view);
template void ApplyPreset(const Config&, std::span<const Field<HashingEncoderOptions>>, HashingEncoderOptions&,
                          std::string_view);
template void ApplyPreset(const Config&, std::span<const Field<Config>>, Config&, std::string_view);

}  // namespace landmark
