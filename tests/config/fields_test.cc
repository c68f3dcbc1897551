// The tables of fields: every key round-trips TOML → struct → TOML, the
// command line reads every flag as the preset reads its key, bad values and
// unknown keys are refused naming the key and where it came from, the enum
// tables parse and list their names, and configs/README.md holds the
// reference the tables give.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "landmark/config.h"
#include "landmark/error.h"
#include "apps/cli/field_options.h"
#include "src/config/fields.h"
#include "src/config/enum_tables.h"

namespace landmark {
namespace {

// The struct of a preset a table fills.
template <class T>
T& Part(Config& c);
template <>
StoreOptions& Part(Config& c) { return c.store; }
template <>
HashingEncoderOptions& Part(Config& c) { return c.encoder; }
template <>
RetrieverConfig& Part(Config& c) { return c.retriever; }
template <>
SparsePrefillOptions& Part(Config& c) { return c.prefill; }
template <>
Config& Part(Config& c) { return c; }

std::string SectionOf(const std::string& key) { return key.substr(0, key.rfind('.')); }
std::string LeafOf(const std::string& key) { return key.substr(key.rfind('.') + 1); }

// A valid value other than the default, as command-line text.
template <class T>
std::string Sample(const Field<T>& f) {
  const std::string now = f.get(T{});
  switch (f.type) {
    case FieldType::kCount: return now == "3" ? "2" : std::to_string(size_t(std::max(3.0, f.min)));
    case FieldType::kReal: return f.max <= 1 ? (now == "0.25" ? "0.5" : "0.25") : (now == "3.5" ? "2.5" : "3.5");
    case FieldType::kBool: return now == "true" ? "false" : "true";
    case FieldType::kBytes: return "64M";
    case FieldType::kChoice: {
      const std::string names = f.choices();
      const std::string second = names.substr(names.find('|') + 1, names.find('|', names.find('|') + 1) -
                                                                        names.find('|') - 1);
      return second == now ? names.substr(0, names.find('|')) : second;
    }
  }
  return "";
}

// `key = value` in its section, TOML-quoted as its type needs.
template <class T>
std::string Toml(const Field<T>& f, const std::string& value) {
  const bool quoted = f.type == FieldType::kChoice || (f.type == FieldType::kBytes && value.find_first_not_of("0123456789") != std::string::npos);
  return "[" + SectionOf(f.key) + "]\n" + LeafOf(f.key) + " = " + (quoted ? "\"" + value + "\"" : value) + "\n";
}

// A command in which the field's flag means it.
std::string CommandFor(const FieldInfo& f) {
  for (const char* command : {"query", "prefill", "ingest", "demo", "x"}) {
    if (FlagMeansField(f, command)) return command;
  }
  return "";
}

template <class T>
void CheckTable(std::span<const Field<T>> fields) {
  for (const Field<T>& f : fields) {
    CAPTURE(f.key);
    const std::string value = Sample(f);
    // TOML → struct → TOML → struct: the same value.
    Config first = ParseConfig(Toml(f, value), "t.toml");
    const std::string text = f.get(Part<T>(first));
    CHECK(text != f.get(T{}));
    CHECK(first.values.at(f.key) == value);
    Config second = ParseConfig(Toml(f, text), "t.toml");
    CHECK(f.get(Part<T>(second)) == text);
    // The C API's name for it: the key, or its last part when unique.
    CHECK(FindField(fields, f.key) == &f);
    // A bad value names the file, the section and the key.
    const std::string bad = f.type == FieldType::kBool ? "\"yes\"" : f.type == FieldType::kChoice ? "\"nope\"" : "\"-\"";
    try {
      ParseConfig("[" + SectionOf(f.key) + "]\n" + LeafOf(f.key) + " = " + bad + "\n", "bad.toml");
      FAIL("no error for " << f.key);
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("bad.toml: [" + SectionOf(f.key) + "]." + LeafOf(f.key) + ": ") == 0);
    }
    // The command line reads the flag as the preset reads the key.
    if (std::string_view(f.flag).empty()) continue;
    const FieldInfo& info = *FindFieldInfo(f.key);
    CLI::App app{"", CommandFor(info)};
    T from_cli{};
    cli::AddFieldOptions(app, fields, from_cli);
    std::vector<std::string> args;  // CLI11 takes them in reverse
    if (f.type != FieldType::kBool) args.push_back(value);
    args.push_back(f.flag);
    app.parse(args);
    CHECK(f.get(from_cli) == text);
    // A bad value names the flag.
    if (f.type != FieldType::kBool) {
      CLI::App bad_app{"", CommandFor(info)};
      T ignored{};
      cli::AddFieldOptions(bad_app, fields, ignored);
      std::vector<std::string> bad_args = {"nope-", f.flag};
      CHECK_THROWS_WITH_AS(bad_app.parse(bad_args), doctest::Contains(f.flag), CLI::ValidationError);
    }
  }
}

TEST_CASE("fields: every key round-trips, and the command line reads it as the preset does") {
  CheckTable(StoreFields());
  CheckTable(EncoderFields());
  CheckTable(RetrievalFields());
  CheckTable(PrefillFields());
  CheckTable(TextQueryFields());
  CheckTable(RuntimeFields());
}

TEST_CASE("fields: a key in several tables agrees with itself") {
  CHECK(std::string(FindField(RetrievalFields(), "runtime.device")->doc) ==
        FindField(PrefillFields(), "runtime.device")->doc);
  std::vector<std::string> keys;
  for (const FieldInfo& f : AllFields()) keys.push_back(f.key);
  CHECK(std::set<std::string>(keys.begin(), keys.end()).size() == keys.size());
  CHECK(keys.front() == "model.q_heads");
  CHECK(keys.back() == "runtime.threads");
}

TEST_CASE("fields: ranges, units and readers") {
  CHECK(ReadCount("64", 1, 100) == 64);
  CHECK_THROWS_WITH_AS(ReadCount("0", 1, 65536), "must be in [1, 65536] (got 0)", Error);
  CHECK_THROWS_WITH_AS(ReadCount("-1", 0, 9), "must not be negative (got -1)", Error);
  CHECK_THROWS_WITH_AS(ReadCount("0x10", 0, 99), "must be a non-negative whole number (got '0x10')", Error);
  CHECK_THROWS_WITH_AS(ReadCount("99999999999999999999", 0, 9), doctest::Contains("must be in [0, 9]"), Error);
  CHECK(ReadReal("0.5", 0, 1) == 0.5);
  CHECK_THROWS_WITH_AS(ReadReal("nan", 0, 1), "must be a finite number (got nan)", Error);
  CHECK_THROWS_WITH_AS(ReadReal("-1", 0, std::numeric_limits<double>::max()), "must be >= 0 (got -1)", Error);
  CHECK(ReadBytes("1G") == size_t(1) << 30);
  CHECK(ReadBytes("4096") == 4096);
  CHECK_THROWS_WITH_AS(ReadBytes("0"), "must be > 0", Error);
  CHECK_THROWS_WITH_AS(ReadBool("yes"), "expected true or false (got 'yes')", Error);
  // The library's checks of options built in code name the key.
  SparsePrefillOptions p;
  p.dma.sparsity = 1.5;
  CHECK_THROWS_WITH_AS(CheckRanges(PrefillFields(), p), "prefill.dma.sparsity: must be in [0, 1] (got 1.5)", Error);
  CHECK_NOTHROW(CheckRanges(PrefillFields(), p, "prefill.flashprefill."));
}

TEST_CASE("fields: unknown names are refused with a suggestion or the list") {
  CHECK(FindField(RetrievalFields(), "top_k") == FindField(RetrievalFields(), "retrieval.top_k"));
  CHECK(FindField(PrefillFields(), "window")->key == std::string("prefill.dma.window"));
  CHECK(FindField(PrefillFields(), "topk") == nullptr);
  CHECK(UnknownOption("sparsty", KeysOf(PrefillFields())) == "unknown option 'sparsty' (did you mean 'sparsity'?)");
  CHECK(UnknownOption("zzzzzzzzzzzz", KeysOf(RuntimeFields())) ==
        "unknown option 'zzzzzzzzzzzz' (expected one of: runtime.threads)");
  try {
    ParseConfig("[retrieval]\ntopk = 3\n", "t.toml");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("t.toml: [retrieval].topk: unknown key (expected one of: top_k,") == 0);
  }
}

TEST_CASE("enum names: one table each way, errors list the choices") {
  CHECK(std::string(Name(Device::kCuda)) == "cuda");
  CHECK(ParseDType("bfloat16") == DType::kBF16);
  CHECK(std::string(Name(DType::kBF16)) == "bf16");
  CHECK(ChoiceList(kDTypeNames) == "f32, f16 or bf16");  // aliases are not listed
  CHECK(ChoiceList(kDeviceNames, "|") == "auto|cpu|cuda");
  CHECK_THROWS_WITH_AS(ParseDType("f64", "store.dtype"), "store.dtype: unknown dtype 'f64' (expected f32, f16 or bf16)",
                       Error);
  CHECK_THROWS_WITH_AS(ParseGpuKv("disk"), "unknown K/V placement 'disk' (expected auto, resident or stream)", Error);
  for (const auto& n : kImportanceNames) CHECK(ParseIn(kImportanceNames, n.name, "importance") == n.value);
  CHECK(std::string(NameIn(kThresholdNames, FlashPrefillOptions::Threshold::kAlpha)) == "alpha");
}

TEST_CASE("fields: configs/README.md holds the reference the tables give") {
  std::ifstream file(LANDMARK_SOURCE_DIR "/configs/README.md");
  REQUIRE(file.good());
  std::ostringstream text;
  text << file.rdbuf();
  const std::string reference = OptionsReference();
  INFO("configs/README.md is out of date: put the output of `build/bin/landmark config --doc` in it");
  CHECK(text.str().find(reference) != std::string::npos);
}

}  // namespace
}  // namespace landmark
