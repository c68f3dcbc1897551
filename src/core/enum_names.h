// Enum values and their names: one table of {value, name} per enum drives
// both directions. A value may have several names (aliases such as
// "float32"); the first is its canonical name, the one Name() gives and
// error messages list.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "landmark/error.h"

namespace landmark {

template <class E>
struct EnumName {
  E value;
  const char* name;
};

// The canonical name of `value` ("?" when the table lacks it).
template <class E>
constexpr const char* NameIn(std::span<const EnumName<E>> names, E value) {
  for (const EnumName<E>& n : names) {
    if (n.value == value) return n.name;
  }
  return "?";
}

// "a, b or c": the canonical names, for messages and docs (`last` joins the
// final pair; "|" gives "a|b|c").
template <class E>
std::string ChoiceList(std::span<const EnumName<E>> names, std::string_view last = " or ") {
  std::string list;
  size_t count = 0;
  for (size_t i = 0; i < names.size(); ++i) count += NameIn(names, names[i].value) == names[i].name;
  size_t listed = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    if (NameIn(names, names[i].value) != names[i].name) continue;  // an alias
    if (listed > 0) list += listed + 1 == count ? std::string(last) : std::string(last == "|" ? "|" : ", ");
    list += names[i].name;
    ++listed;
  }
  return list;
}

// The value named `text`; otherwise throws landmark::Error
// "<what>: unknown <noun> 'text' (expected a, b or c)" (no "<what>: " when empty).
template <class E>
E ParseIn(std::span<const EnumName<E>> names, std::string_view text, std::string_view noun,
          std::string_view what = {}) {
  for (const EnumName<E>& n : names) {
    if (text == n.name) return n.value;
  }
  LANDMARK_THROW((what.empty() ? std::string() : std::string(what) + ": ") + "unknown " + std::string(noun) + " '" +
                 std::string(text) + "' (expected " + ChoiceList(names) + ")");
}

// The same over a table written as an array.
template <class E, size_t N>
constexpr const char* NameIn(const EnumName<E> (&names)[N], E value) {
  return NameIn(std::span<const EnumName<E>>(names), value);
}
template <class E, size_t N>
std::string ChoiceList(const EnumName<E> (&names)[N], std::string_view last = " or ") {
  return ChoiceList(std::span<const EnumName<E>>(names), last);
}
template <class E, size_t N>
E ParseIn(const EnumName<E> (&names)[N], std::string_view text, std::string_view noun, std::string_view what = {}) {
  return ParseIn(std::span<const EnumName<E>>(names), text, noun, what);
}

}  // namespace landmark
