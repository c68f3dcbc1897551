// Reading tokenizer.json and tokenizer_config.json fields: every error names
// the file and the JSON path of the field ("tokenizer.json: model.merges[3]:
// expected a string").
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace landmark::tokenizer {

using Json = nlohmann::json;

// Where a JSON node lies: the file and the path to it.
class Where {
 public:
  Where(const std::string& file, std::string path) : file_(&file), path_(std::move(path)) {}
  Where operator/(std::string_view key) const;  // a member: "model.vocab"
  Where operator[](size_t index) const;         // an element: "merges[3]"
  const std::string& file() const { return *file_; }
  const std::string& path() const { return path_; }
  std::string Describe() const;  // "<file>: <path>"
  [[noreturn]] void Fail(const std::string& problem) const;

 private:
  const std::string* file_;
  std::string path_;
};

// Parses a whole file; a clear error for a missing file or invalid JSON.
Json ReadJsonFile(const std::string& path);

// The member `key` of the object `node` (an error when `node` is not an
// object or the member is missing); Optional: nullptr when missing or null.
const Json& Member(const Json& node, std::string_view key, const Where& where);
const Json* Optional(const Json& node, std::string_view key, const Where& where);

std::string AsString(const Json& node, const Where& where);
bool AsBool(const Json& node, const Where& where);
int64_t AsInt(const Json& node, const Where& where);
const Json& AsArray(const Json& node, const Where& where);
const Json& AsObject(const Json& node, const Where& where);

std::string StringMember(const Json& node, std::string_view key, const Where& where);
bool BoolMember(const Json& node, std::string_view key, const Where& where, std::optional<bool> fallback = {});
std::optional<std::string> OptionalString(const Json& node, std::string_view key, const Where& where);
// The "type" of a component object.
std::string TypeOf(const Json& node, const Where& where);

// Components (normalizers, pre-tokenizers, decoders, post-processors) nest
// through Sequence; deeper than this is hostile input.
inline constexpr int kMaxNesting = 32;
void CheckNesting(int depth, std::string_view kind, const Where& where);
// A component type landmark does not implement: `supported` lists those it does.
[[noreturn]] void Unsupported(std::string_view kind, const std::string& type, std::string_view supported,
                              const Where& where);

// The steps of a Sequence component: the array `key` of `node`, each
// element parsed by `parse(element, where)`.
template <class Component, class Parse>
std::vector<std::unique_ptr<Component>> ParseSteps(const Json& node, std::string_view key, const Where& where,
                                                   const Parse& parse) {
  const Where list = where / key;
  const Json& array = AsArray(Member(node, key, where), list);
  std::vector<std::unique_ptr<Component>> steps;
  for (size_t i = 0; i < array.size(); ++i) steps.push_back(parse(array[i], list[i]));
  return steps;
}

}  // namespace landmark::tokenizer
