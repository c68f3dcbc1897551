// Makers of table entries (fields.h) from an accessor of the member: a
// captureless lambda `[](auto& o) -> auto& { return o.member; }`, which
// serves both the setter and the getter.
#pragma once

#include <charconv>
#include <string>
#include <string_view>
#include <type_traits>

#include "src/config/fields.h"
#include "src/core/enum_names.h"

namespace landmark::field_makers {

template <class T, class Access>
using MemberOf = std::remove_cvref_t<decltype(std::declval<Access>()(std::declval<T&>()))>;

// The shortest text that reads back as the same number.
template <class V>
std::string ShortestText(V value) {
  char buffer[64];
  return std::string(buffer, std::to_chars(buffer, buffer + sizeof(buffer), value).ptr);
}

// A whole number (kCount) or a real one (kReal) in [min, max].
template <class T, FieldType kType, class Access>
constexpr Field<T> Ranged(const char* key, const char* flag, const char* commands, double min, double max,
                          const char* doc) {
  return {key, flag, commands, kType, min, max, doc,
          [](const Field<T>& f, T& o, std::string_view s) {
            if constexpr (kType == FieldType::kCount) {
              Access{}(o) = MemberOf<T, Access>(ReadCount(s, f.min, f.max));
            } else {
              Access{}(o) = MemberOf<T, Access>(ReadReal(s, f.min, f.max));
            }
          },
          [](const T& o) { return ShortestText(Access{}(o)); }, nullptr};
}
template <class T, class Access>
constexpr Field<T> Count(const char* key, const char* flag, const char* commands, double min, double max,
                         const char* doc, Access) {
  return Ranged<T, FieldType::kCount, Access>(key, flag, commands, min, max, doc);
}
template <class T, class Access>
constexpr Field<T> Real(const char* key, const char* flag, const char* commands, double min, double max,
                        const char* doc, Access) {
  return Ranged<T, FieldType::kReal, Access>(key, flag, commands, min, max, doc);
}

template <class T, class Access>
constexpr Field<T> Bool(const char* key, const char* flag, const char* commands, const char* doc, Access) {
  return {key, flag, commands, FieldType::kBool, 0, 1, doc,
          [](const Field<T>&, T& o, std::string_view s) { Access{}(o) = ReadBool(s); },
          [](const T& o) { return std::string(Access{}(o) ? "true" : "false"); }, nullptr};
}

template <class T, class Access>
constexpr Field<T> Bytes(const char* key, const char* flag, const char* commands, const char* doc, Access) {
  return {key, flag, commands, FieldType::kBytes, 1, 18446744073709551615.0, doc,
          [](const Field<T>&, T& o, std::string_view s) { Access{}(o) = MemberOf<T, Access>(ReadBytes(s)); },
          [](const T& o) { return std::to_string(Access{}(o)); }, nullptr};
}

// `Names`: the enum's table (enum_tables.h); `Parse`: its parser, whose
// error lists the names.
template <class T, const auto& Names, class Access, class Parse>
constexpr Field<T> Choice(const char* key, const char* flag, const char* commands, const char* doc, Access, Parse) {
  return {key, flag, commands, FieldType::kChoice, 0, 0, doc,
          [](const Field<T>&, T& o, std::string_view s) { Access{}(o) = Parse{}(s); },
          [](const T& o) { return std::string(NameIn(Names, Access{}(o))); },
          [] { return ChoiceList(Names, "|"); }};
}

}  // namespace landmark::field_makers
