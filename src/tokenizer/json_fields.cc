#include <cstdint>

#include "src/tokenizer/json_fields.h"

#include "landmark/error.h"
#include "src/io/mapped_file.h"

namespace landmark::tokenizer {
namespace {

const char* KindOf(const Json& node) {
  switch (node.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::number_float: return "a float";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "an integer";
    default: return "something else";
  }
}

[[noreturn]] void Expected(const char* what, const Json& node, const Where& where) {
  where.Fail(std::string("expected ") + what + ", got " + KindOf(node));
}

}  // namespace

Where Where::operator/(std::string_view key) const {
  return Where(*file_, path_.empty() ? std::string(key) : path_ + "." + std::string(key));
}

Where Where::operator[](size_t index) const { return Where(*file_, path_ + "[" + std::to_string(index) + "]"); }

std::string Where::Describe() const { return path_.empty() ? *file_ : *file_ + ": " + path_; }

void Where::Fail(const std::string& problem) const { LANDMARK_THROW(Describe() + ": " + problem); }

Json ReadJsonFile(const std::string& path) {
  const MappedFile file(path);
  const char* begin = reinterpret_cast<const char*>(file.data());
  try {
    return Json::parse(begin, begin + file.size());
  } catch (const Json::exception& e) {
    LANDMARK_THROW(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
}

const Json& Member(const Json& node, std::string_view key, const Where& where) {
  AsObject(node, where);
  const auto it = node.find(key);
  if (it == node.end()) where.Fail("missing the field '" + std::string(key) + "'");
  return *it;
}

const Json* Optional(const Json& node, std::string_view key, const Where& where) {
  AsObject(node, where);
  const auto it = node.find(key);
  return it == node.end() || it->is_null() ? nullptr : &*it;
}

std::string AsString(const Json& node, const Where& where) {
  if (!node.is_string()) Expected("a string", node, where);
  return node.get<std::string>();
}

bool AsBool(const Json& node, const Where& where) {
  if (!node.is_boolean()) Expected("true or false", node, where);
  return node.get<bool>();
}

int64_t AsInt(const Json& node, const Where& where) {
  if (node.is_number_unsigned()) {
    const uint64_t v = node.get<uint64_t>();
    if (v > uint64_t(INT64_MAX)) where.Fail("integer " + std::to_string(v) + " is out of range");
    return static_cast<int64_t>(v);
  }
  if (!node.is_number_integer()) Expected("an integer", node, where);
  return node.get<int64_t>();
}

const Json& AsArray(const Json& node, const Where& where) {
  if (!node.is_array()) Expected("an array", node, where);
  return node;
}

const Json& AsObject(const Json& node, const Where& where) {
  if (!node.is_object()) Expected("an object", node, where);
  return node;
}

std::string StringMember(const Json& node, std::string_view key, const Where& where) {
  return AsString(Member(node, key, where), where / key);
}

bool BoolMember(const Json& node, std::string_view key, const Where& where, std::optional<bool> fallback) {
  const Json* value = Optional(node, key, where);
  if (value == nullptr) {
    if (!fallback) where.Fail("missing the field '" + std::string(key) + "'");
    return *fallback;
  }
  return AsBool(*value, where / key);
}

std::optional<std::string> OptionalString(const Json& node, std::string_view key, const Where& where) {
  const Json* value = Optional(node, key, where);
  if (value == nullptr) return std::nullopt;
  return AsString(*value, where / key);
}

std::string TypeOf(const Json& node, const Where& where) { return StringMember(node, "type", where); }

void CheckNesting(int depth, std::string_view kind, const Where& where) {
  if (depth > kMaxNesting) where.Fail(std::string(kind) + "s nested deeper than " + std::to_string(kMaxNesting));
}

void Unsupported(std::string_view kind, const std::string& type, std::string_view supported, const Where& where) {
  where.Fail(std::string(kind) + " type '" + type + "' is not supported (landmark reads " + std::string(supported) +
             ")");
}

}  // namespace landmark::tokenizer
