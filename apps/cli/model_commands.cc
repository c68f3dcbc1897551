// `landmark ingest --model`, `landmark ask`, `landmark model info|random`:
// text through landmark's own byte model (include/landmark/model.h).
#include <fmt/core.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>

#include "landmark/error.h"
#include "landmark/model.h"
#include "apps/cli/commands.h"
#include "landmark/llm.h"
#include "landmark/tokenizer.h"
#include "apps/cli/format.h"
#include "apps/cli/llm_store_commands.h"
#include "apps/cli/progress.h"
#include "src/io/text_files.h"
#include "testing/random_weights.h"

namespace landmark::cli {
namespace {

// Labels an ingest's inputs (paths, sizes, modification times): a run of
// the same inputs resumes an interrupted one.
std::string RunLabel(const std::vector<std::string>& files) {
  std::string key;
  for (const std::string& file : files) {
    std::error_code error;
    const auto path = std::filesystem::absolute(file, error);
    const auto size = std::filesystem::file_size(file, error);
    const auto time = std::filesystem::last_write_time(file, error).time_since_epoch().count();
    key += path.string() + '\0' + std::to_string(size) + '\0' + std::to_string(time) + '\n';
  }
  return fmt::format("{:016x}", XXH3_64bits(key.data(), key.size()));
}

}  // namespace

void RunModelIngest(const std::string& model_spec, const std::string& out, const std::vector<std::string>& inputs,
                    const std::string& dtype, bool strict, size_t commit_every) {
  LANDMARK_CHECK_ARG(!inputs.empty(), "ingest: nothing to ingest (give text files or directories)");
  const Model model = Model::LoadSpec(model_spec);
  const bool exists = std::filesystem::exists(std::filesystem::path(out) / "manifest.json");
  ModelIngestOptions options;
  options.dtype = ParseDType(dtype, "--dtype");
  options.commit_every = commit_every;
  const TextInputs text = CollectTextFiles(inputs, strict, [](const std::string& path, const std::string& why) {
    std::fprintf(stderr, "warning: skipping %s: %s\n", path.c_str(), why.c_str());
  });
  const std::vector<std::string>& files = text.files;
  const uint64_t total = text.bytes;
  LANDMARK_CHECK_ARG(!files.empty(), "ingest: no text files among the inputs");
  if (!exists) options.metadata["sources"] = std::to_string(files.size()) + " files";
  options.run = RunLabel(files);
  ModelIngest ingest = exists ? ModelIngest::Append(model, out, options) : ModelIngest::Create(model, out, options);
  const uint64_t before = ingest.tokens();
  if (ingest.resumed_tokens() > 0) {
    std::fprintf(stderr, "resuming an interrupted ingest of these inputs into %s: %s tokens of it are committed\n",
                 out.c_str(), Count(double(ingest.resumed_tokens())).c_str());
  } else if (exists) {
    std::fprintf(stderr, "appending to %s (%s tokens)\n", out.c_str(), Count(double(before)).c_str());
  }
  Progress progress;
  uint64_t read = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    TextPieces pieces(files[i], size_t(1) << 20);
    std::string piece;
    ingest.BeginDocument();
    while (pieces.Next(piece)) {
      ingest.Add(piece);
      read += piece.size();
      const double seconds = std::max(progress.elapsed(), 1e-3);
      progress.Update(total ? double(read) / double(total) : -1.0,
                      fmt::format("{} tokens  {} tok/s  file {}/{}  {}", Count(double(ingest.processed_tokens() - before)),
                                  Count(double(ingest.processed_tokens() - before) / seconds), i + 1, files.size(),
                                  std::filesystem::path(files[i]).filename().string()));
    }
  }
  ingest.Finish();
  progress.Finish();
  const double seconds = std::max(progress.elapsed(), 1e-3);
  const uint64_t added = ingest.tokens() - before;
  const StoreInfo info = ReadStoreInfo(out);
  std::printf("ingested %s tokens from %zu files through %s in %s: %s tokens/s (lower blocks %.1f s)\n",
              Count(double(added)).c_str(), files.size(), std::filesystem::path(model.path()).filename().c_str(),
              Progress::Duration(seconds).c_str(), Count(double(added) / seconds).c_str(), ingest.lower_seconds());
  std::printf("%s now holds %zu tokens: %zu chunks of %zu + a tail of %zu, %s of K/V, %s of landmarks\n", out.c_str(),
              info.tokens, info.chunks, info.shape.chunk_size, info.tail_tokens, Bytes(double(info.kv_bytes)).c_str(),
              Bytes(double(info.landmark_bytes)).c_str());
}

namespace {

struct AskArgs {
  std::string store, model = "default";
  std::vector<std::string> questions;
  size_t max_bytes = 16;
  bool raw = false, explain = false, json = false;
  size_t threads = 0;
  LlmAskArgs llm;  // a store an LLM wrote
};

// The store's encoder ("model", "llm", "hashing", "" for K/V from files).
std::string EncoderOf(const std::string& dir) {
  const StoreInfo info = ReadStoreInfo(dir);
  const auto it = info.metadata.find("encoder");
  return it == info.metadata.end() ? "" : it->second;
}

// `ask` answers through a model; stores without one name the command that
// reads them.
void CheckModelStore(const std::string& dir) {
  const std::string encoder = EncoderOf(dir);
  LANDMARK_CHECK_ARG(encoder != "hashing", dir + ": a text store (hashing encoder, no model): ask it with "
                                                 "`landmark query " + dir + " \"QUESTION\"`");
  LANDMARK_CHECK_ARG(!encoder.empty(), dir + ": holds K/V ingested from files (--keys/--values), not text through a "
                                             "model: query it with `landmark query " + dir + " --q Q.npy`");
}

void RunAsk(const CLI::App& app, AskArgs& a) {
  if (IsLlmStore(a.store) || IsLlmDirectory(a.model)) {
    LANDMARK_CHECK_ARG(IsLlmDirectory(a.model), a.store + ": written by a Hugging Face model ('" +
                                                    ReadStoreInfo(a.store).metadata["llm.model"] +
                                                    "'): give its directory with --model DIR");
    for (const char* option : {"--max-bytes", "--raw", "--explain"}) {
      LANDMARK_CHECK_ARG(app.count(option) == 0, std::string("ask: ") + option + " belongs to the byte model's stores");
    }
    a.llm.model = a.model;
    a.llm.store = a.store;
    a.llm.questions = a.questions;
    a.llm.json = a.json;
    return RunLlmAsk(a.llm);
  }
  for (const char* option : {"--max-tokens", "--temperature", "--top-p"}) {
    LANDMARK_CHECK_ARG(app.count(option) == 0,
                       std::string("ask: ") + option + " belongs to stores of Hugging Face models (--model DIR)");
  }
  CheckModelStore(a.store);
  // The byte model answers one kind of question: others are refused before
  // any work, rather than answered with made-up bytes.
  std::vector<std::string> framed;
  for (const std::string& q : a.questions) {
    framed.push_back(a.raw ? q : PassKeyQuestion(q));
    LANDMARK_CHECK_ARG(!framed.back().empty(),
                       "ask: \"" + q + "\" is not a question landmark's byte model can answer. It was trained on one "
                       "kind: " + kPassKeyTask + "; to anything else it would print a made-up answer. For questions "
                       "about text, ingest it with a Hugging Face model (ingest --model DIR, docs/llm.md), or with the "
                       "hashing encoder and search it with `landmark query STORE \"QUESTION\"` (--raw sends the bytes "
                       "to the byte model as given)");
  }
  const Model model = Model::LoadSpec(a.model);
  const ModelAnswerer answerer(model, a.store);
  nlohmann::json answers = nlohmann::json::array();
  for (size_t i = 0; i < a.questions.size(); ++i) {
    const ModelAnswer r = answerer.Ask(framed[i], a.max_bytes);
    if (a.json) {
      answers.push_back({{"question", a.questions[i]}, {"prompt", framed[i]}, {"answer", r.text},
                         {"stopped", r.stopped}, {"ms", r.seconds * 1e3}, {"steps", r.steps},
                         {"bytes_read", r.bytes_touched}, {"chunks", r.chunks}});
      continue;
    }
    // Without the stop byte the answer ran into --max-bytes: not a finished answer.
    std::printf("%s%s\n", r.text.c_str(),
                r.stopped ? "" : fmt::format("  [no stop byte: cut at --max-bytes {}]", a.max_bytes).c_str());
    if (a.explain) {
      std::string chunks;
      for (uint32_t c : r.chunks) chunks += (chunks.empty() ? "" : ", ") + std::to_string(c);
      std::fprintf(stderr, "  %s%s: %.1f ms, %zu steps, %s of the store read; the HSA blocks and heads chose chunks [%s]\n",
                   framed[i].c_str(), r.stopped ? "" : " (no stop byte)", r.seconds * 1e3, r.steps,
                   Bytes(double(r.bytes_touched)).c_str(), chunks.c_str());
    }
  }
  if (a.json) std::printf("%s\n", answers.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

}  // namespace

void AddModelCommands(CLI::App& app) {
  auto a = std::make_shared<AskArgs>();
  CLI::App* ask = app.add_subcommand("ask", "Answer questions about a store ingested with --model: landmark's byte model (pass-key "
                                          "questions, greedy until a newline) or a Hugging Face model");
  ask->add_option("store", a->store, "Store directory")->required();
  ask->add_option("questions", a->questions, "Questions, e.g. \"pass key for vault 123\"")->required();
  ask->add_option("--model", a->model,
                  "The model the store was ingested with: a Hugging Face model directory, or the byte model's "
                  "weights (default or a .safetensors file)")
      ->capture_default_str();
  ask->add_option("--max-tokens", a->llm.generation.max_tokens, "--model DIR: longest answer, tokens")
      ->capture_default_str()
      ->check(CLI::Range(size_t(1), size_t(1) << 20));
  ask->add_option("--temperature", a->llm.generation.sampling.temperature, "--model DIR: 0 = greedy")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  ask->add_option("--top-p", a->llm.generation.sampling.top_p, "--model DIR: nucleus sampling mass")
      ->capture_default_str()
      ->check(CLI::Range(0.0001, 1.0));
  ask->add_option("--seed", a->llm.generation.sampling.seed, "--model DIR: sampling seed")->capture_default_str();
  AddLlmRetrievalOptions(*ask, a->llm.retrieval);
  ask->add_option("--max-bytes", a->max_bytes, "Longest answer")->capture_default_str();
  ask->add_flag("--raw", a->raw,
                "Byte model: send the question bytes as given (no \" Q: ... A: \" frame, no check that the model "
                "was trained on such a question)");
  ask->add_flag("--json", a->json, "Print the answers as JSON (with stop, latency, bytes read, sources)");
  ask->add_flag("--explain", a->explain, "Per question on stderr: latency, bytes read, chosen chunks");
  ask->add_option("--threads", a->threads, "Worker threads (default: all CPUs)");
  ask->callback([ask, a] { RunWithThreads(a->threads, [&] { RunAsk(*ask, *a); }); });

  CLI::App* m = app.add_subcommand("model", "Inspect model weights or write random ones");
  m->require_subcommand(1);
  auto info_path = std::make_shared<std::string>("default");
  CLI::App* info = m->add_subcommand("info", "Config, parameters, FLOPs per ingested token, digest (or a Hugging Face "
                                             "model directory: architecture, shape, dtype, trained context)");
  info->add_option("weights", *info_path, "default, a .safetensors file or a Hugging Face model directory")
      ->capture_default_str();
  info->callback([info_path] {
    if (std::filesystem::is_directory(*info_path)) return DescribeLlm(*info_path);
    const Model model = Model::LoadSpec(*info_path);
    const ModelConfig& c = model.config();
    std::printf("%s\n  config %s\n  %s parameters, %.2f MFLOP per ingested token, digest %s\n", model.path().c_str(),
                c.ToJson().c_str(), Count(double(c.parameters())).c_str(), c.ingest_flops_per_token() / 1e6,
                model.digest().c_str());
  });
  struct RandomArgs {
    std::string out, dtype = "bf16", upper = "hsa,gmu,hsa,gmu";
    uint64_t seed = 1;
  };
  auto r = std::make_shared<RandomArgs>();
  CLI::App* random = m->add_subcommand("random", "Random weights of the default shape (tests, benchmarks)");
  random->add_option("out", r->out, "Output .safetensors")->required();
  random->add_option("--seed", r->seed)->capture_default_str();
  random->add_option("--dtype", r->dtype, "f32 or bf16")->capture_default_str();
  random->add_option("--upper", r->upper, "Upper block kinds")->capture_default_str();
  random->callback([r] {
    ModelConfig c;
    c.upper.clear();
    for (const std::string& kind : CLI::detail::split(r->upper, ',')) {
      const std::optional<LayerKind> k = ParseLayerKind(kind);
      LANDMARK_CHECK_ARG(k.has_value(), "--upper: '" + kind + "' is not hsa or gmu");
      c.upper.push_back(*k);
    }
    const std::filesystem::path parent = std::filesystem::path(r->out).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    WriteRandomModel(r->out, c, r->seed, ParseDType(r->dtype, "--dtype"));
    std::printf("wrote %s (%s parameters)\n", r->out.c_str(), Count(double(c.parameters())).c_str());
  });
}

}  // namespace landmark::cli
