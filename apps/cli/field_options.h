// Command-line options from the tables of fields (src/config/fields.h):
// flag, help, default, range check and parsing all come from the field, so
// a flag means what the preset key of the same option means.
#pragma once

#include <CLI/CLI.hpp>

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "landmark/error.h"
#include "src/config/fields.h"

namespace landmark::cli {

// The CLI11 type name of a field's option (option_checks.cc reads it).
const char* TypeName(FieldType type);

// Adds to `command` the option of every field of `fields` whose flag it
// takes (FlagMeansField), except those whose key is in `except`; each sets
// its member of `options` (which must outlive the command) when given or
// filled from a preset. Returns nothing: look options up by flag.
template <class T>
void AddFieldOptions(CLI::App& command, std::span<const Field<T>> fields, T& options,
                     std::initializer_list<std::string_view> except = {}) {
  for (const Field<T>& f : fields) {
    const FieldInfo* info = FindFieldInfo(f.key);
    if (std::string_view(f.flag).empty() || !FlagMeansField(*info, command.get_name())) continue;
    bool skip = false;
    for (std::string_view key : except) skip |= key == f.key;
    if (skip) continue;
    const Field<T>* field = &f;
    std::string doc = f.doc;
    if (f.type == FieldType::kChoice) doc += " (" + info->choices + ")";
    doc += " [" + std::string(f.key) + "]";
    if (f.type == FieldType::kBool) {
      command.add_flag_function(f.flag, [field, &options](int64_t) { field->set(*field, options, "true"); }, doc);
      continue;
    }
    CLI::Option* option = command.add_option_function<std::string>(
        f.flag, [field, &options](const std::string& text) { field->set(*field, options, text); }, doc);
    option->type_name(TypeName(f.type));
    option->default_str(f.get(options));
    option->check(CLI::Validator(
        [field](std::string& text) -> std::string {
          T scratch{};
          try {
            field->set(*field, scratch, text);
          } catch (const Error& e) {
            return e.what();
          }
          return "";
        },
        ""));
  }
}

}  // namespace landmark::cli
