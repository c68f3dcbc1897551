// `landmark ingest --model DIR` and `landmark ask --model DIR` for pretrained
// Hugging Face LLMs (include/landmark/llm_store.h, docs/llm.md).
#include <fmt/core.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "landmark/error.h"
#include "landmark/llm.h"
#include "landmark/llm_store.h"
#include "apps/cli/commands.h"
#include "apps/cli/format.h"
#include "apps/cli/llm_store_commands.h"
#include "apps/cli/progress.h"
#include "src/io/text_files.h"

namespace landmark::cli {

bool IsLlmDirectory(const std::string& spec) {
  std::error_code ec;
  return std::filesystem::is_directory(spec, ec) && std::filesystem::exists(std::filesystem::path(spec) / "config.json", ec);
}

bool IsLlmStore(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(dir) / "manifest.json", ec)) return false;
  const StoreInfo info = ReadStoreInfo(dir);
  auto it = info.metadata.find("encoder");
  return it != info.metadata.end() && it->second == "llm";
}

void AddLlmRetrievalOptions(CLI::App& command, llm::LlmRetrievalOptions& r) {
  command.add_option("--window", r.window, "Local tokens attended exactly (default: min(4096, trained context/4))")
      ->check(CLI::NonNegativeNumber);
  command.add_option("--top-k", r.top_k, "Chunks per kv head and layer (default: min(64, context/(4·chunk)))")
      ->check(CLI::NonNegativeNumber);
  command.add_option("--sinks", r.sink_chunks, "First chunks always attended")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  command.add_option("--select-block", r.select_block, "New tokens per landmark selection")
      ->capture_default_str()
      ->check(CLI::Range(size_t(1), size_t(1) << 20));
  command.add_flag("--true-positions", r.true_positions,
                   "Retrieved chunks at their own positions (beyond the trained context the model sees unseen positions)");
  command.add_flag_callback("--dense-prefill", [&r] { r.flashprefill = false; },
                   "Dense causal attention inside a segment (default: FlashPrefill block masks)");
}

void RunLlmIngest(const LlmIngestArgs& a) {
  LANDMARK_CHECK_ARG(!a.inputs.empty(), "ingest: nothing to ingest (give text files or directories)");
  const TextInputs text = CollectTextFiles(a.inputs, a.strict, [](const std::string& path, const std::string& why) {
    std::fprintf(stderr, "warning: skipping %s: %s\n", path.c_str(), why.c_str());
  });
  const std::vector<std::string>& files = text.files;
  const uint64_t total = text.bytes;
  LANDMARK_CHECK_ARG(!files.empty(), "ingest: no text files among the inputs");
  const llm::LlmModel model = llm::LlmModel::Load(a.model);
  llm::LlmIngestOptions options = a.options;
  Progress progress;
  uint64_t tokens = 0, bytes = 0;
  size_t file = 0;
  options.progress = [&](uint64_t t, uint64_t b) {
    tokens = t;
    bytes = b;
    const double seconds = std::max(progress.elapsed(), 1e-3), rate = double(t) / seconds;
    const double fraction = total ? std::min(1.0, double(b) / double(total)) : -1.0;
    const double eta = fraction > 0 ? seconds * (1 - fraction) / fraction : 0;
    progress.Update(fraction, fmt::format("{} tokens  {} tok/s  ETA {}  file {}/{}", Count(double(t)), Count(rate),
                                          Progress::Duration(eta), file + 1, files.size()));
    return true;
  };
  const bool exists = std::filesystem::exists(std::filesystem::path(a.out) / "manifest.json");
  llm::LlmIngest ingest = llm::LlmIngest::Open(model, a.out, options);
  if (exists) std::fprintf(stderr, "%s: %s tokens already; adding or resuming\n", a.out.c_str(), Count(double(ingest.tokens())).c_str());
  size_t skipped = 0;
  for (file = 0; file < files.size(); ++file) {
    if (!ingest.AddFile(files[file])) {
      ++skipped;
      std::fprintf(stderr, "%s: already in the store, skipped (same path and content)\n", files[file].c_str());
    }
  }
  ingest.Finish();
  progress.Finish();
  const double seconds = std::max(progress.elapsed(), 1e-3);
  const StoreInfo info = ReadStoreInfo(a.out);
  const size_t ingested = files.size() - skipped;
  std::printf("ingested %s tokens (%s of text) from %zu file%s through %s in %s: %s tokens/s\n",
              Count(double(tokens)).c_str(), Bytes(double(bytes)).c_str(), ingested, ingested == 1 ? "" : "s",
              std::filesystem::path(a.model).filename().c_str(), Progress::Duration(seconds).c_str(),
              Count(double(tokens) / seconds).c_str());
  std::printf("%s holds %zu tokens: %zu chunks of %zu + %zu, %s of K/V (%s per token), %s of landmarks\n",
              a.out.c_str(), info.tokens, info.chunks, info.shape.chunk_size, info.tail_tokens,
              Bytes(double(info.kv_bytes)).c_str(),
              Bytes(info.tokens ? double(info.kv_bytes) / double(info.tokens) : 0).c_str(),
              Bytes(double(info.landmark_bytes)).c_str());
}

void RunLlmAsk(const LlmAskArgs& a) {
  const llm::LlmModel model = llm::LlmModel::Load(a.model);
  const llm::LlmAnswerer answerer(model, a.store, a.retrieval);
  nlohmann::json answers = nlohmann::json::array();
  for (const std::string& question : a.questions) {
    if (a.questions.size() > 1 && !a.json) std::printf("Q: %s\n", question.c_str());
    const llm::LlmAnswer r = answerer.Ask(question, a.generation, [&a](std::string_view text) {
      if (a.json) return true;
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    if (a.json) {
      nlohmann::json sources = nlohmann::json::array();
      for (const llm::LlmSourceUse& s : r.sources) {
        sources.push_back({{"document", s.document}, {"offset", s.source.offset}, {"chunk", s.chunk},
                           {"share", s.share}, {"text", s.text}});
      }
      answers.push_back({{"question", question}, {"answer", r.text}, {"stopped", r.stopped},
                         {"question_tokens", r.question_tokens}, {"answer_tokens", r.tokens.size()},
                         {"prefill_seconds", r.prefill_seconds}, {"decode_seconds", r.decode_seconds},
                         {"sources", sources}});
      continue;
    }
    std::printf("%s\n", r.stopped ? "" : " [stopped at --max-tokens]");
    if (r.sources.empty()) {
      std::printf("sources: none retrieved (the whole store lies inside the sinks and the local window)\n");
    } else {
      std::printf("sources (the chunks the layers chose most while reading the question):\n");
    }
    for (size_t i = 0; i < r.sources.size(); ++i) {
      const llm::LlmSourceUse& s = r.sources[i];
      std::string snippet = s.text.substr(0, 70);
      for (char& c : snippet) c = (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
      std::printf("  %zu. %s @ byte %llu  (chunk %u, %.0f%% of selections)  \"%s…\"\n", i + 1,
                  s.document.empty() ? "(preamble)" : s.document.c_str(),
                  static_cast<unsigned long long>(s.source.offset), s.chunk, 100 * s.share, snippet.c_str());
    }
    std::fflush(stdout);
    std::fprintf(stderr, "question %zu tokens in %.2f s; answer %zu tokens in %.2f s (%.1f tokens/s)\n",
                 r.question_tokens, r.prefill_seconds, r.tokens.size(), r.decode_seconds,
                 r.decode_seconds > 0 ? double(r.tokens.size()) / r.decode_seconds : 0.0);
  }
  if (a.json) std::printf("%s\n", answers.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

}  // namespace landmark::cli
