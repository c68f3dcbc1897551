// Presets on the command line: after a command's options are parsed, each
// option left out whose meaning a preset key gives is filled from the file,
// as if it had been typed, before the command runs.
#include "apps/cli/config_option.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "landmark/config.h"

namespace landmark::cli {
namespace {

// An option and the preset key that fills it; `command` empty: any command.
struct Binding {
  const char* command;
  const char* option;
  const char* key;
};
const Binding kBindings[] = {
    {"", "--q-heads", "model.q_heads"},
    {"", "--kv-heads", "model.kv_heads"},
    {"", "--head-dim", "model.head_dim"},
    {"", "--chunk-size", "store.chunk_size"},
    {"", "--dtype", "store.dtype"},
    {"", "--landmark", "store.landmark"},
    {"", "--landmark-heads", "store.landmark_heads"},
    {"", "--landmark-dim", "store.landmark_dim"},
    {"", "--commit-every", "store.commit_every"},
    {"", "--segment-size", "store.segment_size"},
    {"ingest", "--seed", "encoder.seed"},  // demo's --seed is the haystack's
    {"", "--bigram-weight", "encoder.bigram_weight"},
    {"", "--temperature", "encoder.temperature"},
    {"", "--top-k", "retrieval.top_k"},
    {"", "--fusion", "retrieval.fusion"},
    {"query", "--hsa-weights", "retrieval.weights"},
    {"query", "--window", "retrieval.window"},
    {"", "--sinks", "retrieval.sink_chunks"},
    {"", "--softmax1", "retrieval.softmax_off_by_one"},
    {"", "--policy", "prefill.policy"},
    {"", "--block", "prefill.block"},
    {"prefill", "--threshold", "prefill.flashprefill.threshold"},
    {"prefill", "--delta", "prefill.flashprefill.delta"},
    {"prefill", "--alpha", "prefill.flashprefill.alpha"},
    {"prefill", "--vertical", "prefill.flashprefill.vertical_fraction"},
    {"prefill", "--slash", "prefill.flashprefill.slash_count"},
    {"prefill", "--importance", "prefill.dma.importance"},
    {"prefill", "--sparsity", "prefill.dma.sparsity"},
    {"prefill", "--window-blocks", "prefill.dma.window"},  // blocks; --window is in tokens
    {"prefill", "--stride", "prefill.dma.stride"},
    {"prefill", "--dilation", "prefill.dma.dilation"},
    {"prefill", "--dilated-count", "prefill.dma.dilated_count"},
    {"", "--threads", "runtime.threads"},
    {"", "--device", "runtime.device"},
};

// `generate`'s sampling options share their names with the hashing
// encoder's temperature and the retriever's top-k; no preset key means them.
// Likewise the weight dtype of `gmu init-weights` and `model random` is not
// the store's.
bool SamplingOption(const std::string& command, const std::string& option) {
  if ((command == "init-weights" || command == "random") && option == "--dtype") return true;
  return command == "generate" && (option == "--temperature" || option == "--top-k");
}

std::optional<std::string> PresetValue(const Config& config, const std::string& command, const std::string& option) {
  if (SamplingOption(command, option)) return std::nullopt;
  for (const Binding& b : kBindings) {
    if (option != b.option || (b.command[0] != '\0' && command != b.command)) continue;
    const auto it = config.values.find(b.key);
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

// A policy's own options apply only when that policy runs (prefill refuses
// them otherwise).
bool AppliesTo(const std::string& option, const std::string& policy) {
  static const char* const kFlashPrefill[] = {"--threshold", "--delta", "--alpha", "--vertical", "--slash"};
  static const char* const kDma[] = {"--importance", "--sparsity", "--window", "--window-blocks", "--stride",
                                     "--dilation", "--dilated-count"};
  for (const char* o : kFlashPrefill) {
    if (option == o) return policy == "flashprefill";
  }
  for (const char* o : kDma) {
    if (option == o) return policy == "dma";
  }
  return true;
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
    if (name == "prefill" && policy && !AppliesTo(long_name, policy->count() ? policy->as<std::string>() : "")) {
      continue;
    }
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
    for (const Binding& b : kBindings) {
      if (option->get_lnames()[0] == std::string(b.option + 2)) required.push_back(option);
    }
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

void AddConfigOptions(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) AddTo(*sub);
}

}  // namespace landmark::cli
