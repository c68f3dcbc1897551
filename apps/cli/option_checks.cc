// Checks on every numeric option of every command, before the command runs:
// an unsigned option refuses a sign (CLI11 would read -1 as 2^64 − 1), a real
// one NaN and infinities, and the sizes below have bounds — what the store
// format, a model or a machine can use — so a typo is an error, never an
// allocation that grows without bound.
#include "apps/cli/option_checks.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "landmark/error.h"
#include "src/config/fields.h"
#include "src/core/range_text.h"

namespace landmark::cli {
namespace {

// Options that are no preset key (those that are take their range from
// their field, src/config/fields.h): an option (in `command`, or in every
// command when empty) and its range.
struct Bound {
  const char* command;
  const char* option;
  double min, max;
};
const Bound kBounds[] = {
    {"", "--group", 1, 1024},  // query heads per kv head
    {"ask", "--max-bytes", 1, 65536},  // an answer must fit the model's window
    {"demo", "--tokens", 1, 17179869184.0},  // 2^34 bytes of haystack
    {"demo", "--needles", 1, 1000000},
    {"prefill", "--window", 0, 72057594037927936.0},  // tokens
};

std::string Trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t");
  return begin == std::string::npos ? std::string() : s.substr(begin);
}

// Unsigned options: digits only (no sign, no "0x": CLI11 would take 010 as octal).
const CLI::Validator kUnsigned(
    [](std::string& input) -> std::string {
      const std::string s = Trim(input);
      if (!s.empty() && s[0] == '-') return "must not be negative (got " + input + ")";
      if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) {
        return "must be a non-negative whole number (got '" + input + "')";
      }
      return "";
    },
    "");

// Real options: a finite number.
const CLI::Validator kFinite(
    [](std::string& input) -> std::string {
      char* end = nullptr;
      const double value = std::strtod(input.c_str(), &end);
      if (end == input.c_str() || *end != '\0') return "must be a number (got '" + input + "')";
      if (!std::isfinite(value)) return "must be a finite number (got " + input + ")";
      return "";
    },
    "");

// [min, max], inclusive; the message and the help text as the fields give them.
CLI::Validator Between(double min, double max) {
  return CLI::Validator(
      [min, max](std::string& input) -> std::string {
        try {
          ReadReal(input, min, max);
        } catch (const Error& e) {
          return e.what();
        }
        return "";
      },
      RangeText(min, max));
}

void AddTo(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) AddTo(*sub);
  for (CLI::Option* option : app.get_options()) {
    if (option->get_lnames().empty()) continue;
    const std::string type = option->get_type_name(), name = "--" + option->get_lnames()[0];
    if (type.rfind("UINT", 0) == 0) {
      option->check(kUnsigned);
    } else if (type.rfind("FLOAT", 0) == 0) {
      option->check(kFinite);
    } else if (type.rfind("INT", 0) != 0) {
      continue;  // text, flags
    }
    for (const Bound& b : kBounds) {
      if (name == b.option && (b.command[0] == '\0' || app.get_name() == b.command)) {
        option->check(Between(b.min, b.max));
      }
    }
    for (const FieldInfo& f : AllFields()) {
      if (f.flag == name && FlagMeansField(f, app.get_name()) && !RangeText(f).empty()) {
        option->check(Between(f.min, f.max));
      }
    }
  }
}

}  // namespace

void AddOptionChecks(CLI::App& app) { AddTo(app); }

}  // namespace landmark::cli
