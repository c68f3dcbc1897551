// `landmark generate --model DIR "prompt"`: dense generation with a
// pretrained Hugging Face model inside its trained context, streamed.
#include <cstdio>
#include <memory>

#include "landmark/error.h"
#include "landmark/llm.h"
#include "landmark/tokenizer.h"
#include "src/cli/commands.h"
#include "src/cli/format.h"

namespace landmark::cli {
namespace {

struct GenerateArgs {
  std::string model, prompt, chat_format, system;
  bool raw = false;
  LlmSampling sampling;
  size_t threads = 0;
};

void RunGenerate(const GenerateArgs& a) {
  LANDMARK_CHECK_ARG(!(a.raw && !a.chat_format.empty()), "generate: --raw and --chat-format exclude each other");
  const LlmModel model = LlmModel::Load(a.model);
  const std::vector<int32_t> prompt = ChatPrompt(model, a.prompt, a.system, a.raw ? "raw" : a.chat_format);
  const LlmGeneration g = Generate(model, prompt, a.sampling, [](int32_t, std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  std::printf("\n");
  std::fprintf(stderr, "%zu prompt tokens in %.2f s (%.1f tokens/s); %zu tokens in %.2f s (%.1f tokens/s)%s\n",
               g.prompt_tokens, g.prefill_seconds, g.prefill_seconds > 0 ? double(g.prompt_tokens) / g.prefill_seconds : 0.0,
               g.tokens.size(), g.decode_seconds, g.decode_seconds > 0 ? double(g.tokens.size()) / g.decode_seconds : 0.0,
               g.stopped ? "" : " [stopped at --max-tokens or the trained context]");
}

}  // namespace

void AddLlmCommands(CLI::App& app) {
  auto a = std::make_shared<GenerateArgs>();
  CLI::App* g = app.add_subcommand(
      "generate", "Generate text with a Hugging Face model (Llama, Qwen2/3, Mistral) on the CPU, dense attention "
                  "inside its trained context");
  g->add_option("--model", a->model, "Model directory (config.json, *.safetensors, tokenizer.json)")->required();
  g->add_option("prompt", a->prompt, "The prompt (the user's message, through the chat template)")->required();
  g->add_option("--max-tokens", a->sampling.max_tokens, "Most tokens to generate")
      ->capture_default_str()
      ->check(CLI::Range(size_t(1), size_t(1) << 24));
  g->add_option("--temperature", a->sampling.temperature, "0 = greedy")->capture_default_str()->check(CLI::Range(0.0f, 100.0f));
  g->add_option("--top-p", a->sampling.top_p, "Nucleus sampling mass")->capture_default_str()->check(CLI::Range(0.0001f, 1.0f));
  g->add_option("--top-k", a->sampling.top_k, "Sample among the k likeliest (0: all)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  g->add_option("--seed", a->sampling.seed, "Sampling seed")->capture_default_str();
  g->add_option("--chat-format", a->chat_format, "Force a chat format: llama2, llama3, chatml, mistral");
  g->add_flag("--raw", a->raw, "The prompt as it is, no chat template");
  g->add_option("--system", a->system, "A system prompt");
  g->add_option("--threads", a->threads, "Worker threads (default: all CPUs)")->check(CLI::NonNegativeNumber);
  g->callback([a] { RunWithThreads(a->threads, [&] { RunGenerate(*a); }); });
}

}  // namespace landmark::cli
