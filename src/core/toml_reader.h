// Strict TOML tables for configs: typed reads that name the file and the
// key on error, and a final check that every key was known (typos fail).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <toml++/toml.h>

namespace landmark {

class TomlSection {
 public:
  // `table` may be null (section absent: every read gives its default).
  // Throws at once for a key not in `keys` (a typo fails before anything
  // else is reported about the section).
  TomlSection(const toml::table* table, std::string source, std::string section, std::vector<std::string> keys);

  bool Has(const std::string& key) const;
  const toml::node* Node(const std::string& key);  // null if absent

  std::optional<int64_t> Integer(const std::string& key);  // ≥ 0 checked by UInt
  size_t UInt(const std::string& key, size_t fallback);
  double Number(const std::string& key, double fallback);  // integer or float
  bool Bool(const std::string& key, bool fallback);
  std::string String(const std::string& key, const std::string& fallback);

  // "<source>: [section].key: <what>" as a landmark::Error.
  [[noreturn]] void Fail(const std::string& key, const std::string& what) const;

 private:
  const toml::table* table_;
  std::string source_, section_;
  std::vector<std::string> keys_;
};

// Parses `text` (errors name `source` and the line); also checks that only
// `sections` appear at the top level (empty: any section).
toml::table ParseToml(const std::string& text, const std::string& source, const std::vector<std::string>& sections);

}  // namespace landmark
