// The options of every options struct as tables of fields: one entry per
// option gives its preset key ("retrieval.top_k": TOML section and key, and
// the name the C API, the bench specs and error messages use), its
// command-line flag, its type and range, a one-line doc, and how to set and
// read it. The preset reader (config.cc), the CLI (src/cli), the C API's
// setters, the Python package, `bench prefill`'s policy specs and
// configs/README.md's reference all derive from these tables
// (option_tables.cc), so an option is spelled once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace landmark {

struct Config;
struct HashingEncoderOptions;
struct RetrieverConfig;
struct SparsePrefillOptions;
struct StoreOptions;

// What a value is, in TOML and on the command line.
enum class FieldType : uint8_t {
  kCount,   // a whole number ≥ 0 in [min, max]
  kReal,    // a finite number in [min, max]
  kBool,    // true | false (a flag on the command line)
  kChoice,  // one of the names of an enum
  kBytes,   // a byte count: a whole number, or "512K", "64M", "1G"
};

template <class T>
struct Field {
  const char* key;       // "retrieval.top_k"
  const char* flag;      // "--top-k" ("": no command-line option)
  // The commands in which `flag` means this option: "" every command that
  // has the flag, "query demo" only those, "!generate" all but those.
  const char* commands;
  FieldType type;
  double min, max;       // kCount, kReal, kBytes: the range, inclusive
  const char* doc;       // one line: what it is, its unit
  // Sets the option from text ("64", "hsa", "true", "1G"); throws
  // landmark::Error with what is wrong, not naming the option (the caller
  // says where it came from: file and key, flag, or parameter).
  void (*set)(const Field& field, T& options, std::string_view text);
  // The option's value as text that `set` reads back to the same value.
  std::string (*get)(const T& options);
  // kChoice: the names, "a|b|c" (else null).
  std::string (*choices)();
};

// The tables. A key may appear in several (runtime.device sets both the
// retriever's and the prefill's device); its entries then agree.
std::span<const Field<StoreOptions>> StoreFields();             // [model] kv_heads, head_dim; [store]
std::span<const Field<HashingEncoderOptions>> EncoderFields();  // [encoder] seed, bigram_weight
std::span<const Field<RetrieverConfig>> RetrievalFields();      // [model] q_heads; [retrieval]; device
std::span<const Field<SparsePrefillOptions>> PrefillFields();   // [prefill], [prefill.*]; device
std::span<const Field<Config>> TextQueryFields();               // [encoder] temperature
std::span<const Field<Config>> RuntimeFields();                 // [runtime] threads

// Every option of every table, once per key, in table order: what a preset
// may hold. Type-erased for listings, docs and checks.
struct FieldInfo {
  std::string key, flag, commands;
  FieldType type;
  double min, max;
  std::string doc, default_value, choices;
};
const std::vector<FieldInfo>& AllFields();
// The entry of `key` in AllFields(), or null.
const FieldInfo* FindFieldInfo(std::string_view key);

// Whether `command` takes `field`'s flag with the field's meaning.
bool FlagMeansField(const FieldInfo& field, std::string_view command);

// The field `name` names in `fields`: its key, or the key's last part when
// that is unique ("top_k", "sparsity"). Null when none.
template <class T>
const Field<T>* FindField(std::span<const Field<T>> fields, std::string_view name) {
  const Field<T>* found = nullptr;
  size_t matches = 0;
  for (const Field<T>& f : fields) {
    const std::string_view key = f.key;
    if (key == name) return &f;
    if (key.size() > name.size() && key.ends_with(name) && key[key.size() - name.size() - 1] == '.') {
      found = &f;
      ++matches;
    }
  }
  return matches == 1 ? found : nullptr;
}

// "unknown option 'x' (did you mean 'y'?)" or "(expected one of: a, b, ...)"
// for a name that FindField did not find among `keys`.
std::string UnknownOption(std::string_view name, const std::vector<std::string>& keys);
template <class T>
std::vector<std::string> KeysOf(std::span<const Field<T>> fields) {
  std::vector<std::string> keys;
  for (const Field<T>& f : fields) keys.push_back(f.key);
  return keys;
}

// Sets `field` of `options` from `text`; an error names `where` (a key, a
// flag, "file: [section].key"): "<where>: <what is wrong>".
template <class T>
void SetField(const Field<T>& field, T& options, std::string_view text, std::string_view where);

// Sets every field of `fields` (whose key starts with `prefix`) that the
// preset `preset` sets; errors name the preset and the key.
template <class T>
void ApplyPreset(const Config& preset, std::span<const Field<T>> fields, T& options, std::string_view prefix = {});

// Checks every numeric field of `options` against its range (fields whose
// key starts with `prefix`): the library's checks of options built in code.
// Throws "<key> must be in [min, max] (got x)".
template <class T>
void CheckRanges(std::span<const Field<T>> fields, const T& options, std::string_view prefix = {});

// Text readers behind the fields (also for options outside the tables);
// they throw landmark::Error with the problem, not naming the option.
uint64_t ReadCount(std::string_view text, double min, double max);
double ReadReal(std::string_view text, double min, double max);
bool ReadBool(std::string_view text);
size_t ReadBytes(std::string_view text);
std::string RangeText(const FieldInfo& field);  // "in [1, 65536]" or ""

// configs/README.md's option reference: a Markdown table of every key with
// its type, default, flag and doc (`landmark config --doc`).
std::string OptionsReference();

}  // namespace landmark
