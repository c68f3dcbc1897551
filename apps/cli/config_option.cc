// Presets on the command line: after a command's options are parsed, each
// option left out whose meaning a preset key gives (the flag of the key's
// field, src/config/fields.h) is filled from the file, as if it had been
// typed, before the command runs.
#include "apps/cli/config_option.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "landmark/config.h"
#include "src/config/fields.h"

namespace landmark::cli {
namespace {

// The option's field: the one whose flag `command` takes with its meaning.
const FieldInfo* FieldOf(const std::string& command, const std::string& option) {
  for (const FieldInfo& f : AllFields()) {
    if (f.flag == option && FlagMeansField(f, command)) return &f;
  }
  return nullptr;
}

std::optional<std::string> PresetValue(const Config& config, const std::string& command, const std::string& option) {
  if (const FieldInfo* f = FieldOf(command, option)) {
    const auto it = config.values.find(f->key);
    if (it == config.values.end()) return std::nullopt;
    return it->second;
  }
  // Text questions: G = query heads per kv head.
  if (option == "--group" && config.has("model.q_heads") && config.has("model.kv_heads") &&
      config.store.shape.kv_heads > 0 && config.retriever.q_heads % config.store.shape.kv_heads == 0) {
    return std::to_string(config.retriever.q_heads / config.store.shape.kv_heads);
  }
  return std::nullopt;
}

// A policy's own options ([prefill.<policy>] keys) apply only when that
// policy runs (prefill refuses them otherwise).
bool AppliesTo(const FieldInfo& field, const std::string& policy) {
  const std::string_view key = field.key;
  if (!key.starts_with("prefill.") || std::count(key.begin(), key.end(), '.') < 2) return true;
  const std::string_view section = key.substr(8, key.find('.', 8) - 8);
  return section == policy;
}

void Fill(CLI::App& command, const Config& config) {
  const std::string name = command.get_name();
  CLI::Option* policy = command.get_option_no_throw("--policy");
  // --policy first: the policy's own options depend on it.
  std::vector<CLI::Option*> options = command.get_options();
  std::stable_partition(options.begin(), options.end(), [&](CLI::Option* o) { return o == policy; });
  for (CLI::Option* option : options) {
    if (option->count() > 0 || option->get_lnames().empty()) continue;
    const std::string long_name = "--" + option->get_lnames()[0];
    const std::optional<std::string> value = PresetValue(config, name, long_name);
    if (!value) continue;
    const FieldInfo* field = FieldOf(name, long_name);
    if (field && policy && !AppliesTo(*field, policy->count() ? policy->results()[0] : "")) continue;
    option->add_result(*value);
    option->run_callback();
  }
}

void AddTo(CLI::App& app) {
  const std::vector<CLI::App*> subcommands = app.get_subcommands([](CLI::App*) { return true; });
  if (!subcommands.empty()) {
    for (CLI::App* sub : subcommands) AddTo(*sub);
    return;
  }
  // gmu's --config is required and also read as a cross-decoder config; as
  // a preset it fills the command's other options like everywhere else.
  if (CLI::Option* own = app.get_option_no_throw("--config")) {
    app.parse_complete_callback([&app, own] {
      if (own->count() > 0) Fill(app, LoadConfig(own->as<std::string>()));
    });
    return;
  }
  // A required option a preset can give is checked after the preset is read.
  std::vector<CLI::Option*> required;
  for (CLI::Option* option : app.get_options()) {
    if (!option->get_required() || option->get_lnames().empty()) continue;
    if (FieldOf(app.get_name(), "--" + option->get_lnames()[0])) required.push_back(option);
  }
  for (CLI::Option* option : required) {  // still marked in the help
    option->required(false);
    option->description(option->get_description() + " [REQUIRED, or from the --config preset]");
  }
  auto path = std::make_shared<std::string>();
  app.add_option("--config", *path, "A preset (configs/*.toml) for the options not given");
  app.parse_complete_callback([&app, path, required] {
    if (!path->empty()) Fill(app, LoadConfig(*path));
    for (CLI::Option* option : required) {
      if (option->count() == 0) throw CLI::RequiredError(option->get_name());
    }
  });
}

}  // namespace

void AddConfigCommand(CLI::App& app) {
  CLI::App* config = app.add_subcommand("config", "The preset keys (configs/README.md): every option, its flag and default");
  auto doc = std::make_shared<bool>(false);
  config->add_flag("--doc", *doc, "Print the Markdown reference that configs/README.md holds");
  config->callback([doc] {
    if (*doc) {
      std::printf("%s", OptionsReference().c_str());
      return;
    }
    for (const FieldInfo& f : AllFields()) {
      std::printf("%-40s %-18s %s\n", f.key.c_str(), f.flag.c_str(), f.default_value.c_str());
    }
  });
}

void AddConfigOptions(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) AddTo(*sub);
}

}  // namespace landmark::cli
