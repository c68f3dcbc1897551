// `landmark generate` and `landmark model info DIR`: pretrained Hugging Face
// models (include/landmark/llm.h) with their tokenizer and chat template
// (include/landmark/tokenizer.h).
#include <fmt/core.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "landmark/error.h"
#include "src/kernels/kernels.h"
#include "landmark/llm.h"
#include "landmark/tokenizer.h"
#include "src/llm/prompt.h"
#include "apps/cli/commands.h"
#include "apps/cli/format.h"

namespace landmark::cli {
namespace {

struct GenerateArgs {
  std::string model, prompt, ids;
  size_t max_tokens = 256;
  // Unset (< 0): generation_config.json's when it samples, else greedy.
  double temperature = -1, top_p = -1;
  int64_t top_k = -1;
  uint64_t seed = 0;
  std::string chat_format, system;
  bool raw = false;
  size_t threads = 0;
};

std::vector<int32_t> ParseIds(const std::string& text) {
  std::vector<int32_t> ids;
  for (const std::string& piece : CLI::detail::split(text, ',')) {
    try {
      size_t used = 0;
      const long id = std::stol(piece, &used);
      LANDMARK_CHECK_ARG(used == piece.size() && id >= 0 && id <= INT32_MAX, "");
      ids.push_back(int32_t(id));
    } catch (const std::exception&) {
      LANDMARK_THROW("--ids: '" + piece + "' is not a token id (give comma-separated ids, e.g. 1,450,2)");
    }
  }
  return ids;
}

void RunGenerate(const GenerateArgs& a) {
  const llm::LlmModel model = llm::LlmModel::Load(a.model);
  llm::GenerateOptions options;
  options.max_tokens = a.max_tokens;
  options.sampling = llm::ResolveSampling(model.config().generation, a.temperature, a.top_p, a.top_k, a.seed);
  llm::LlmSession session(model);
  auto print = [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return true;
  };
  llm::GenerateResult r;
  if (!a.ids.empty()) {  // token ids in, token ids out: no tokenizer needed
    LANDMARK_CHECK_ARG(a.prompt.empty(), "give the prompt as text or as --ids, not both");
    const std::vector<int32_t> prompt = ParseIds(a.ids);
    LANDMARK_CHECK_ARG(!prompt.empty(), "the prompt is empty");
    options.on_token = [&](int32_t id) { return print(fmt::format("{} ", id)); };
    r = llm::Generate(session, prompt, options);
  } else {
    LANDMARK_CHECK_ARG(!(a.raw && !a.chat_format.empty()), "--raw and --chat-format exclude each other");
    const Tokenizer tokenizer = Tokenizer::FromDirectory(a.model);
    llm::PromptOptions p;
    p.chat_format = a.raw ? "raw" : a.chat_format;
    p.system = a.system;
    const llm::ChatPrompt prompt = llm::MakePrompt(model, tokenizer, a.prompt, p);
    if (prompt.format == "raw" && !a.raw) {
      std::fprintf(stderr, "(the model has no chat template: the prompt goes in as plain text)\n");
    }
    r = llm::GenerateText(session, tokenizer, prompt, options, print).result;
  }
  std::fputs("\n", stdout);
  std::fflush(stdout);
  std::fprintf(stderr, "%zu prompt tokens, %zu generated (stop: %s); prefill %.1f tokens/s, decode %.2f tokens/s (%.1f ms/token)\n",
               r.prompt_tokens, r.tokens.size(), llm::Name(r.stop), r.prefill_tokens_per_second(),
               r.decode_tokens_per_second(), r.decode_steps ? r.decode_seconds / double(r.decode_steps) * 1e3 : 0.0);
}

}  // namespace

void DescribeLlm(const std::string& dir) {
  const llm::LlmModel model = llm::LlmModel::Load(dir);
  const llm::LlmConfig& c = model.config();
  std::string windows;
  const size_t window = *std::max_element(c.layer_windows.begin(), c.layer_windows.end());
  if (window) {
    windows = fmt::format(", sliding window {} on {} of {} layers", window,
                          std::count(c.layer_windows.begin(), c.layer_windows.end(), window), c.layers);
  }
  std::printf("%s: %s\n", dir.c_str(), llm::Name(c.architecture));
  std::printf("  %zu layers, hidden %zu, MLP %zu, %zu query heads, %zu kv heads, head dim %zu, vocab %zu\n", c.layers,
              c.hidden_size, c.intermediate_size, c.q_heads, c.kv_heads, c.head_dim, c.vocab_size);
  std::printf("  %s parameters, weights %s (%s in %zu file%s), trained context %zu tokens%s\n",
              Count(double(c.parameters())).c_str(), Name(model.weight_dtype()), Bytes(double(model.file_bytes())).c_str(),
              model.files().size(), model.files().size() == 1 ? "" : "s", c.max_position_embeddings, windows.c_str());
  const std::string factor = c.rope.type == "default" ? "" : fmt::format(" factor {}", c.rope.factor);
  std::printf("  RoPE %s θ %g%s; %s%s%s%s\n", c.rope.type.c_str(), c.rope.theta, factor.c_str(),
              c.tie_word_embeddings ? "tied embeddings" : "separate LM head", c.qkv_bias ? ", q/k/v biases" : "",
              c.o_bias ? ", o bias" : "", c.qk_norm ? ", q/k norms" : "");
  std::printf("  a decode step reads %s of weights; %sFLOP per token in the matmuls\n",
              Bytes(double(model.weight_bytes())).c_str(), Count(2.0 * double(c.matmul_parameters())).c_str());
}

void AddLlmCommands(CLI::App& app) {
  auto a = std::make_shared<GenerateArgs>();
  CLI::App* g = app.add_subcommand("generate", "Run a Hugging Face model (Llama, Qwen2/3, Mistral) on a prompt, streaming "
                                               "the answer");
  g->add_option("--model", a->model, "Model directory (config.json, *.safetensors, tokenizer.json)")->required();
  g->add_option("prompt", a->prompt, "The prompt (the user message, in the model's chat template)");
  g->add_option("--ids", a->ids, "The prompt as comma-separated token ids instead (no tokenizer; ids are printed)");
  g->add_option("--max-tokens", a->max_tokens, "Most tokens to generate")->capture_default_str();
  g->add_option("--temperature", a->temperature, "0: greedy (default: generation_config.json's, else greedy)");
  g->add_option("--top-p", a->top_p, "Nucleus sampling mass, in (0, 1]");
  g->add_option("--top-k", a->top_k, "Sample among the k most likely (0: all)");
  g->add_option("--seed", a->seed, "Sampling seed (std::mt19937_64)")->capture_default_str();
  g->add_option("--chat-format", a->chat_format, "llama2, llama3, chatml or mistral (default: the model's template)");
  g->add_option("--system", a->system, "A system message");
  g->add_flag("--raw", a->raw, "No chat template: the prompt text as given (with the tokenizer's BOS)");
  g->add_option("--threads", a->threads, "Worker threads (default: all CPUs)");
  g->callback([a] {
    LANDMARK_CHECK_ARG(!a->prompt.empty() || !a->ids.empty(), "give a prompt (or --ids)");
    RunWithThreads(a->threads, [&] { RunGenerate(*a); });
  });
}

}  // namespace landmark::cli
