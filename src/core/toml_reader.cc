#include "src/core/toml_reader.h"

#include <algorithm>
#include <cstdint>

#include "landmark/error.h"

namespace landmark {

TomlSection::TomlSection(const toml::table* table, std::string source, std::string section,
                         std::vector<std::string> keys)
    : table_(table), source_(std::move(source)), section_(std::move(section)), keys_(std::move(keys)) {
  if (!table_) return;
  for (const auto& [key, value] : *table_) {
    const std::string k(key.str());
    if (std::find(keys_.begin(), keys_.end(), k) == keys_.end()) {
      std::string list;
      for (const auto& known : keys_) list += (list.empty() ? "" : ", ") + known;
      Fail(k, "unknown key (expected one of: " + list + ")");
    }
  }
}

bool TomlSection::Has(const std::string& key) const { return table_ && table_->contains(key); }

const toml::node* TomlSection::Node(const std::string& key) {
  LANDMARK_ASSERT(std::find(keys_.begin(), keys_.end(), key) != keys_.end());
  return table_ ? table_->get(key) : nullptr;
}

void TomlSection::Fail(const std::string& key, const std::string& what) const {
  LANDMARK_THROW(source_ + ": [" + section_ + "]." + key + ": " + what);
}

std::optional<int64_t> TomlSection::Integer(const std::string& key) {
  const toml::node* n = Node(key);
  if (!n) return std::nullopt;
  if (!n->is_integer()) Fail(key, "expected an integer");
  return n->value<int64_t>();
}

size_t TomlSection::UInt(const std::string& key, size_t fallback) {
  const auto v = Integer(key);
  if (!v) return fallback;
  if (*v < 0) Fail(key, "must not be negative");
  return size_t(*v);
}

double TomlSection::Number(const std::string& key, double fallback) {
  const toml::node* n = Node(key);
  if (!n) return fallback;
  if (!n->is_number()) Fail(key, "expected a number");
  return *n->value<double>();
}

bool TomlSection::Bool(const std::string& key, bool fallback) {
  const toml::node* n = Node(key);
  if (!n) return fallback;
  if (!n->is_boolean()) Fail(key, "expected true or false");
  return *n->value<bool>();
}

std::string TomlSection::String(const std::string& key, const std::string& fallback) {
  const toml::node* n = Node(key);
  if (!n) return fallback;
  if (!n->is_string()) Fail(key, "expected a string");
  return *n->value<std::string>();
}

toml::table ParseToml(const std::string& text, const std::string& source, const std::vector<std::string>& sections) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    LANDMARK_THROW(source + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  for (const auto& [key, value] : table) {
    const std::string k(key.str());
    if (!sections.empty() && std::find(sections.begin(), sections.end(), k) == sections.end()) {
      std::string list;
      for (const auto& s : sections) list += (list.empty() ? "[" : ", [") + s + "]";
      LANDMARK_THROW(source + ": unknown section or key '" + k + "' (expected " + list + ")");
    }
    if (!value.is_table()) LANDMARK_THROW(source + ": '" + k + "' must be a [section]");
  }
  return table;
}

}  // namespace landmark
