// The text readers behind the fields, the type-erased listing of every
// option, and the reference that configs/README.md holds.
#include "src/config/fields.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "landmark/config.h"
#include "landmark/error.h"
#include "src/core/range_text.h"

namespace landmark {

namespace {

// "512K", "64M", "1G" (binary units), or plain bytes with a fraction.
size_t SizeWithUnit(std::string_view text_in) {
  const std::string text(text_in);
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
  else LANDMARK_CHECK_ARG(suffix.empty(), "cannot read '" + text + "' as a size (e.g. 1G, 512M)");
  LANDMARK_CHECK_ARG(used > 0 && value > 0, "cannot read '" + text + "' as a size (e.g. 1G, 512M)");
  return size_t(value * scale);
}

const char* TypeName(FieldType type) {
  switch (type) {
    case FieldType::kCount: return "integer";
    case FieldType::kReal: return "number";
    case FieldType::kBool: return "bool";
    case FieldType::kChoice: return "string";
    case FieldType::kBytes: return "size";
  }
  return "?";
}

template <class T>
void AddInfos(std::span<const Field<T>> fields, std::vector<FieldInfo>& out) {
  const T defaults{};
  for (const Field<T>& f : fields) {
    if (std::any_of(out.begin(), out.end(), [&](const FieldInfo& i) { return i.key == f.key; })) continue;
    out.push_back({f.key, f.flag, f.commands, f.type, f.min, f.max, f.doc, f.get(defaults),
                   f.choices ? f.choices() : std::string()});
  }
}

std::string_view Section(std::string_view key) { return key.substr(0, key.rfind('.')); }

// Levenshtein distance, for "did you mean".
size_t Distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

uint64_t ReadCount(std::string_view text, double min, double max) {
  if (!text.empty() && text[0] == '-') LANDMARK_THROW("must not be negative (got " + std::string(text) + ")");
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || end != text.data() + text.size() ||
      text.find_first_not_of("0123456789") != std::string_view::npos) {
    LANDMARK_THROW("must be a non-negative whole number (got '" + std::string(text) + "')");
  }
  if (error == std::errc::result_out_of_range || double(value) < min || double(value) > max) {
    ThrowOutOfRange(text, min, max);
  }
  return value;
}

double ReadReal(std::string_view text_in, double min, double max) {
  const std::string text(text_in);
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) LANDMARK_THROW("must be a number (got '" + text + "')");
  if (!std::isfinite(value)) LANDMARK_THROW("must be a finite number (got " + text + ")");
  if (!(value >= min && value <= max)) ThrowOutOfRange(text, min, max);
  return value;
}

bool ReadBool(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  LANDMARK_THROW("expected true or false (got '" + std::string(text) + "')");
}

size_t ReadBytes(std::string_view text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    const uint64_t bytes = ReadCount(text, 0, 18446744073709551615.0);
    LANDMARK_CHECK_ARG(bytes > 0, "must be > 0");
    return size_t(bytes);
  }
  return SizeWithUnit(text);
}

size_t ParseByteSize(const std::string& text, const std::string& what) {
  try {
    return SizeWithUnit(text);
  } catch (const Error& e) {
    LANDMARK_THROW(what + ": " + e.what());
  }
}

std::string RangeText(const FieldInfo& f) {
  if (f.type != FieldType::kCount && f.type != FieldType::kReal) return "";
  if (f.max < kNoMax && f.max >= 18446744073709551615.0) return "";  // all of u64
  return RangeText(f.min, f.max);
}

template <class T>
void SetField(const Field<T>& field, T& options, std::string_view text, std::string_view where) {
  try {
    field.set(field, options, text);
  } catch (const Error& e) {
    LANDMARK_THROW(std::string(where) + ": " + e.what());
  }
}

template <class T>
void CheckRanges(std::span<const Field<T>> fields, const T& options, std::string_view prefix) {
  for (const Field<T>& f : fields) {
    if (f.type != FieldType::kCount && f.type != FieldType::kReal) continue;
    if (!std::string_view(f.key).starts_with(prefix)) continue;
    T copy = options;
    SetField(f, copy, f.get(options), f.key);  // the value as text, read back through the range
  }
}

#define LANDMARK_FIELD_TEMPLATES(T)                                                              \
  template void SetField<T>(const Field<T>&, T&, std::string_view, std::string_view);           \
  template void CheckRanges<T>(std::span<const Field<T>>, const T&, std::string_view);
LANDMARK_FIELD_TEMPLATES(StoreOptions)
LANDMARK_FIELD_TEMPLATES(HashingEncoderOptions)
LANDMARK_FIELD_TEMPLATES(RetrieverConfig)
LANDMARK_FIELD_TEMPLATES(SparsePrefillOptions)
LANDMARK_FIELD_TEMPLATES(Config)
#undef LANDMARK_FIELD_TEMPLATES

const std::vector<FieldInfo>& AllFields() {
  static const std::vector<FieldInfo> all = [] {
    std::vector<FieldInfo> out;
    AddInfos(RetrievalFields(), out);  // model.q_heads first: [model] reads q, kv, d
    AddInfos(StoreFields(), out);
    AddInfos(EncoderFields(), out);
    AddInfos(TextQueryFields(), out);
    AddInfos(PrefillFields(), out);
    AddInfos(RuntimeFields(), out);
    // Grouped by section, sections in order of their first key's table.
    std::map<std::string, size_t> rank;
    for (const FieldInfo& f : out) {
      const std::string top(f.key.substr(0, f.key.find('.')));
      static const char* const kOrder[] = {"model", "store", "encoder", "retrieval", "prefill", "runtime"};
      const size_t r = size_t(std::find(std::begin(kOrder), std::end(kOrder), top) - std::begin(kOrder));
      rank.emplace(std::string(Section(f.key)), r * 100 + rank.size());
    }
    std::stable_sort(out.begin(), out.end(), [&](const FieldInfo& a, const FieldInfo& b) {
      return rank.at(std::string(Section(a.key))) < rank.at(std::string(Section(b.key)));
    });
    return out;
  }();
  return all;
}

const FieldInfo* FindFieldInfo(std::string_view key) {
  for (const FieldInfo& f : AllFields()) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

bool FlagMeansField(const FieldInfo& field, std::string_view command) {
  std::string_view list = field.commands;
  if (list.empty()) return true;
  const bool except = list[0] == '!';
  if (except) list.remove_prefix(1);
  bool listed = false;
  while (!list.empty()) {
    const size_t space = list.find(' ');
    listed |= list.substr(0, space) == command;
    list.remove_prefix(space == std::string_view::npos ? list.size() : space + 1);
  }
  return listed != except;
}

std::string UnknownOption(std::string_view name, const std::vector<std::string>& keys) {
  std::string best;
  size_t best_distance = std::string::npos;
  for (const std::string& key : keys) {
    for (std::string_view candidate : {std::string_view(key), std::string_view(key).substr(key.rfind('.') + 1)}) {
      const size_t d = Distance(name, candidate);
      if (d < best_distance) {
        best_distance = d;
        best = std::string(candidate);
      }
    }
  }
  if (best_distance <= std::max<size_t>(2, name.size() / 4)) {
    return "unknown option '" + std::string(name) + "' (did you mean '" + best + "'?)";
  }
  std::string list;
  for (const std::string& key : keys) list += (list.empty() ? "" : ", ") + key;
  return "unknown option '" + std::string(name) + "' (expected one of: " + list + ")";
}

std::string OptionsReference() {
  std::string out =
      "| key | type | default | command line | what |\n"
      "|---|---|---|---|---|\n";
  std::string section;
  for (const FieldInfo& f : AllFields()) {
    std::string choices = f.choices;
    for (size_t at = choices.find('|'); at != std::string::npos; at = choices.find('|', at)) {
      choices.replace(at, 1, "`/`");
    }
    std::string type = f.type == FieldType::kChoice ? "`" + choices + "`" : TypeName(f.type);
    const std::string range = RangeText(f);
    if (!range.empty()) type += " " + range;
    std::string flag = f.flag.empty() ? "" : "`" + f.flag + "`";
    if (!f.flag.empty() && !f.commands.empty()) {
      flag += f.commands[0] == '!' ? " (not " + f.commands.substr(1) + ")" : " (" + f.commands + ")";
    }
    std::string value = f.default_value;
    if (f.type == FieldType::kChoice || f.type == FieldType::kBytes) value = "`" + value + "`";
    std::string doc = f.doc;
    for (size_t at = doc.find('|'); at != std::string::npos; at = doc.find('|', at + 2)) doc.replace(at, 1, "\\|");
    out += "| `" + f.key + "` | " + type + " | " + value + " | " + flag + " | " + doc + " |\n";
  }
  return out;
}

}  // namespace landmark
