// `landmark ingest`, `landmark info`, `landmark verify`.
#include <fmt/core.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "landmark/config.h"
#include "landmark/device.h"
#include "landmark/error.h"
#include "landmark/ingest.h"
#include "landmark/shard.h"
#include "landmark/store.h"
#include "src/io/tensor_file.h"
#include "landmark/text_index.h"
#include "apps/cli/commands.h"
#include "apps/cli/field_options.h"
#include "apps/cli/format.h"
#include "apps/cli/llm_store_commands.h"
#include "apps/cli/progress.h"
#include "src/config/fields.h"

namespace landmark::cli {
namespace {

struct IngestArgs {
  std::string out;
  std::vector<std::string> inputs;
  std::string keys, values, landmarks;
  std::string model;  // through landmark's byte model
  // [model] kv_heads, head_dim, [store] and [encoder] seed, bigram_weight: the fields of fields.h
  StoreOptions store = [] {
    StoreOptions o;
    o.shape.head_dim = TextEncoderOptions().head_dim;  // a text store's default
    return o;
  }();
  HashingEncoderOptions encoder;
  bool strict = false, force = false;
  size_t threads = 0;
  // --model DIR (a Hugging Face model directory)
  std::string chat_format, system;
  bool raw = false;
  size_t llm_segment = 0;
  llm::LlmRetrievalOptions retrieval;
  size_t shards = 0;  // split into a sharded store (PREFIX/shard-NNNNN)
};

// Options given on the command line must agree with an existing store.
void CheckSame(const CLI::App& app, const char* option, const std::string& given, const std::string& stored,
               const std::string& dir) {
  if (app.count(option) > 0 && given != stored) {
    LANDMARK_THROW(dir + ": the store has " + std::string(option + 2) + " " + stored + "; " + option + " " +
                   given + " differs (a store's shape is fixed at creation)");
  }
}

void RunLlmIngestFromArgs(const CLI::App& app, const IngestArgs& a) {
  LANDMARK_CHECK_ARG(a.keys.empty() && a.values.empty(), "ingest: --model reads text, not --keys/--values");
  for (const char* option : {"--kv-heads", "--head-dim", "--seed", "--landmark-heads", "--landmark-dim", "--bigram-weight"}) {
    LANDMARK_CHECK_ARG(app.count(option) == 0, std::string("ingest: ") + option + " comes from the model with --model DIR");
  }
  LANDMARK_CHECK_ARG(!(a.raw && !a.chat_format.empty()), "ingest: --raw and --chat-format exclude each other");
  LlmIngestArgs l;
  l.model = a.model;
  l.out = a.out;
  l.inputs = a.inputs;
  l.strict = a.strict;
  l.options.chunk_size = a.store.shape.chunk_size;
  l.options.dtype = a.store.shape.dtype;
  l.options.landmark = a.store.shape.landmark;
  l.options.segment = a.llm_segment;
  l.options.chat_format = a.raw ? "raw" : a.chat_format;
  l.options.system = a.system;
  l.options.retrieval = a.retrieval;
  RunLlmIngest(l);
}

void RunIngest(const CLI::App& app, const IngestArgs& a) {
  if (!a.model.empty() && IsLlmDirectory(a.model)) return RunLlmIngestFromArgs(app, a);
  // (--window, --top-k, ... may come from a preset's [retrieval]: ignored here.)
  for (const char* option : {"--chat-format", "--raw", "--system", "--segment"}) {
    LANDMARK_CHECK_ARG(app.count(option) == 0,
                       std::string("ingest: ") + option + " belongs to --model DIR (a Hugging Face model directory)");
  }
  if (!a.model.empty()) {
    LANDMARK_CHECK_ARG(a.keys.empty() && a.values.empty(), "ingest: --model reads text, not --keys/--values");
    for (const char* shape : {"--chunk-size", "--kv-heads", "--head-dim", "--landmark", "--seed"}) {
      LANDMARK_CHECK_ARG(app.count(shape) == 0, std::string("ingest: ") + shape + " comes from the model with --model");
    }
    return RunModelIngest(a.model, a.out, a.inputs, Name(a.store.shape.dtype), a.strict, a.store.commit_every);
  }
  const bool tensors = !a.keys.empty() || !a.values.empty();
  LANDMARK_CHECK_ARG(!tensors || (!a.keys.empty() && !a.values.empty()), "ingest: --keys and --values go together");
  LANDMARK_CHECK_ARG(tensors != !a.inputs.empty(),
                     tensors ? "ingest: give text inputs or --keys/--values, not both"
                             : "ingest: nothing to ingest (give text files/directories, or --keys and --values)");
  const bool exists = std::filesystem::exists(std::filesystem::path(a.out) / "manifest.json");
  LANDMARK_CHECK_ARG(a.shards == 0 || (tensors && !exists && !std::filesystem::exists(ShardPath(a.out, 0))),
                     "ingest: --shards splits --keys/--values into a new sharded store (" + ShardPath(a.out, 0) +
                         ", ...); per-rank text: ingest each shard's documents into its own PREFIX/shard-NNNNN");
  StoreOptions shard_options;
  std::unique_ptr<StoreWriter> writer;
  HashingEncoderOptions encoder = TextEncoderOptions();
  encoder.seed = a.encoder.seed;
  encoder.bigram_weight = a.encoder.bigram_weight;
  const StoreShape& given = a.store.shape;
  if (exists) {
    const StoreInfo info = ReadStoreInfo(a.out);
    const StoreShape& s = info.shape;
    CheckSame(app, "--chunk-size", std::to_string(given.chunk_size), std::to_string(s.chunk_size), a.out);
    CheckSame(app, "--dtype", Name(given.dtype), Name(s.dtype), a.out);
    CheckSame(app, "--landmark", Name(given.landmark), Name(s.landmark), a.out);
    CheckSame(app, "--kv-heads", std::to_string(given.kv_heads), std::to_string(s.kv_heads), a.out);
    CheckSame(app, "--head-dim", std::to_string(given.head_dim), std::to_string(s.head_dim), a.out);
    if (!tensors) {  // continue with the encoder the store was made with
      encoder = HashingEncoderOptionsOf(info);
      CheckSame(app, "--seed", std::to_string(a.encoder.seed), std::to_string(encoder.seed), a.out);
    }
    writer = std::make_unique<StoreWriter>(
        StoreWriter::Append(a.out, app.count("--commit-every") ? long(a.store.commit_every) : -1));
    std::fprintf(stderr, "appending to %s (%zu tokens)\n", a.out.c_str(), info.tokens);
  } else {
    encoder.kv_heads = given.kv_heads;
    encoder.head_dim = given.head_dim;
    StoreOptions options = tensors ? StoreOptions() : TextStoreOptions(encoder);
    StoreShape& s = options.shape;
    s.chunk_size = given.chunk_size;
    s.dtype = given.dtype;
    s.landmark = given.landmark;
    s.kv_heads = given.kv_heads;
    s.head_dim = given.head_dim;
    if (tensors) {  // the shape comes from the keys unless given
      const TensorFile keys = TensorFile::Open(a.keys);
      keys.CheckRank(3, "keys");
      if (!app.count("--kv-heads")) s.kv_heads = keys.shape()[1];
      if (!app.count("--head-dim")) s.head_dim = keys.shape()[2];
      if (!a.landmarks.empty()) {
        LANDMARK_CHECK_ARG(!app.count("--landmark") || s.landmark == LandmarkKind::kLearned,
                           "ingest: --landmarks gives learned landmarks; --landmark " + std::string(Name(given.landmark)) +
                               " disagrees");
        s.landmark = LandmarkKind::kLearned;
        const TensorFile l = TensorFile::Open(a.landmarks);
        l.CheckRank(3, "landmarks");
        s.landmark_heads = given.landmark_heads ? given.landmark_heads : l.shape()[1];
        s.landmark_dim = given.landmark_dim ? given.landmark_dim : l.shape()[2];
      }
      options.metadata["source"] = a.keys;
    }
    options.commit_every = a.store.commit_every;
    options.segment_bytes = a.store.segment_bytes;
    if (a.shards > 0) shard_options = options;
    else writer = std::make_unique<StoreWriter>(StoreWriter::Create(a.out, options));
  }
  if (a.shards > 0) return RunShardedIngest(a.out, a.keys, a.values, a.landmarks, a.shards, shard_options);

  const size_t token_bytes = 2 * writer->info().shape.kv_heads * writer->info().shape.head_dim *
                             SizeOf(writer->info().shape.dtype);
  Progress progress;
  auto report = [&](const IngestProgress& p) {
    const double seconds = std::max(progress.elapsed(), 1e-3);
    const double fraction = p.input_total ? double(p.input_bytes) / double(p.input_total) : -1.0;
    progress.Update(fraction, fmt::format("{} tokens  {} tok/s  {}/s in  {}/s K/V  {}{}", Count(double(p.tokens)),
                                          Count(double(p.tokens) / seconds), Bytes(double(p.input_bytes) / seconds),
                                          Bytes(double(p.tokens * token_bytes) / seconds),
                                          p.files_total > 1 ? fmt::format("file {}/{}  ", p.files_done + 1, p.files_total) : "",
                                          std::filesystem::path(p.current).filename().string()));
  };
  IngestStats stats;
  if (tensors) {
    TensorIngestOptions options;
    options.keys = a.keys;
    options.values = a.values;
    options.landmarks = a.landmarks;
    stats = IngestTensors(*writer, options, report);
  } else {
    TextIngestOptions options;
    options.encoder = encoder;
    options.strict = a.strict;
    options.force = a.force;
    options.warn = [&](const std::string& message) { std::fprintf(stderr, "\nwarning: %s\n", message.c_str()); };
    stats = IngestText(*writer, a.inputs, options, report);
  }
  writer->Close();
  progress.Finish();
  const double seconds = std::max(progress.elapsed(), 1e-3);
  const StoreInfo info = ReadStoreInfo(a.out);
  std::printf("ingested %s tokens from %zu %s%s in %s: %s tokens/s, %s/s of K/V written\n",
              Count(double(stats.tokens)).c_str(), stats.files, tensors ? "tensor file" : "files",
              stats.skipped.empty() ? "" : fmt::format(" ({} skipped)", stats.skipped.size()).c_str(),
              Progress::Duration(seconds).c_str(), Count(double(stats.tokens) / seconds).c_str(),
              Bytes(double(stats.tokens * token_bytes) / seconds).c_str());
  std::printf("%s now holds %zu tokens: %zu chunks of %zu + a tail of %zu, %s of K/V, %s of landmarks\n",
              a.out.c_str(), info.tokens, info.chunks, info.shape.chunk_size, info.tail_tokens,
              Bytes(double(info.kv_bytes)).c_str(), Bytes(double(info.landmark_bytes)).c_str());
}

// A store this ingest created that holds no token when the ingest fails (a
// missing input, a typo) is removed: it would only be in the way. Never a
// directory that held anything before, never a committed token.
void RemoveIfEmptyNew(const std::string& dir, bool dir_existed) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::is_directory(dir, error)) return;
  try {
    if (fs::exists(fs::path(dir) / "manifest.json") && ReadStoreInfo(dir).tokens > 0) return;
  } catch (const Error&) {
    return;  // not readable as a store: leave it as it is
  }
  if (!dir_existed) {
    fs::remove_all(dir, error);
    return;
  }
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) fs::remove_all(entry.path(), error);
}

// Whether `dir` is absent or an empty directory (what ingest may create a store in).
bool AbsentOrEmpty(const std::string& dir, bool* existed) {
  std::error_code error;
  *existed = std::filesystem::exists(dir, error);
  return !*existed || (std::filesystem::is_directory(dir, error) && std::filesystem::is_empty(dir, error));
}

void PrintDevices(bool json) { std::printf("%s", json ? (Devices().ToJson() + "\n").c_str() : Devices().ToText().c_str()); }

void RunVerify(const std::string& dir, bool json) {
  const std::vector<std::string> problems = VerifyStore(dir);
  if (json) {
    nlohmann::json j = {{"store", dir}, {"ok", problems.empty()}, {"problems", problems}};
    if (problems.empty()) {
      const StoreInfo i = ReadStoreInfo(dir);
      uint64_t checked = i.kv_bytes + i.landmark_bytes + i.text_bytes;
      for (const auto& [name, a] : i.attachments) checked += a.bytes;
      j["tokens"] = i.tokens;
      j["checked_bytes"] = checked;
    }
    std::printf("%s\n", j.dump(2).c_str());
    std::fflush(stdout);
  }
  if (problems.empty()) {
    if (json) return;
    const StoreInfo i = ReadStoreInfo(dir);
    uint64_t checked = i.kv_bytes + i.landmark_bytes + i.text_bytes;
    for (const auto& [name, a] : i.attachments) checked += a.bytes;
    std::printf("ok: %s (%zu tokens, %s checked)\n", dir.c_str(), i.tokens, Bytes(double(checked)).c_str());
    return;
  }
  for (const std::string& p : problems) std::fprintf(stderr, "problem: %s\n", p.c_str());
  LANDMARK_THROW(fmt::format("{}: {} problem{}", dir, problems.size(), problems.size() == 1 ? "" : "s"));
}

}  // namespace

void AddStoreCommands(CLI::App& app) {
  auto a = std::make_shared<IngestArgs>();
  CLI::App* ingest = app.add_subcommand(
      "ingest", "Stream text (hashing encoder) or model K/V (.npy/.safetensors) into a chunk store");
  ingest->add_option("--out", a->out, "Store directory (created, or appended to if it holds a store)")->required();
  ingest->add_option("inputs", a->inputs, "Text files or directories (recursively)");
  ingest->add_option("--model", a->model,
                     "Text through a model: a Hugging Face model directory (Llama, Qwen2/3, Mistral; see "
                     "docs/llm.md), or landmark's byte model: default (the shipped weights) or a .safetensors file");
  ingest->add_option("--keys", a->keys, "Keys [n, kv_heads, d]: K.npy or file.safetensors[:NAME]");
  ingest->add_option("--values", a->values, "Values, shaped like the keys");
  ingest->add_option("--landmarks", a->landmarks, "Learned landmarks [chunks, heads, R] (.npy/.safetensors)");
  // --chunk-size, --dtype, --landmark, --landmark-heads/-dim (learned: default from the file), --kv-heads,
  // --head-dim (tensors: from the keys), --commit-every, --segment-size; text: --seed, --bigram-weight.
  AddFieldOptions(*ingest, StoreFields(), a->store);
  AddFieldOptions(*ingest, EncoderFields(), a->encoder);
  ingest->add_option("--shards", a->shards, "Split --keys/--values into N shards of whole chunks, PREFIX/shard-NNNNN "
                                            "(for `mpirun -np N landmark query --sharded PREFIX`)");
  ingest->add_flag("--force", a->force, "Text: add a file even when the store already holds its content");
  ingest->add_flag("--strict", a->strict, "Stop at a file that is not UTF-8 text (default: skip it with a warning)");
  // --model DIR
  ingest->add_option("--chat-format", a->chat_format,
                     "--model DIR: the chat format of the stream's preamble (llama2, llama3, chatml, mistral; "
                     "default: the model's template)");
  ingest->add_flag("--raw", a->raw, "--model DIR: no chat template (documents follow BOS)");
  ingest->add_option("--system", a->system, "--model DIR: a system prompt in the preamble");
  ingest->add_option("--segment", a->llm_segment, "--model DIR: tokens per forward pass (default: min(1024, context/8))")
      ->check(CLI::NonNegativeNumber);
  AddLlmRetrievalOptions(*ingest, a->retrieval);
  ingest->callback([ingest, a] {
    bool existed = false;
    const bool fresh = a->shards == 0 && AbsentOrEmpty(a->out, &existed);
    try {
      RunIngest(*ingest, *a);
    } catch (...) {
      if (fresh) RemoveIfEmptyNew(a->out, existed);
      throw;
    }
  });

  auto info_dir = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto devices = std::make_shared<bool>(false);
  CLI::App* info = app.add_subcommand("info", "Show a store's shape, counts, sizes and creation parameters, "
                                              "or (--devices) the devices landmark can run on");
  info->add_option("store", *info_dir, "Store directory");
  info->add_flag("--json", *json, "As JSON");
  info->add_flag("--devices", *devices, "CPU and CUDA availability, the GPUs, and what --device auto picks");
  info->callback([info_dir, json, devices] {
    if (*devices && info_dir->empty()) return PrintDevices(*json);
    LANDMARK_CHECK_ARG(!info_dir->empty(), "info: give a store directory (or --devices)");
    const StoreInfo i = ReadStoreInfo(*info_dir);
    if (*devices && *json) {  // one JSON document: both
      std::printf("{\"devices\": %s,\n\"store\": %s}\n", Devices().ToJson().c_str(), i.ToJson().c_str());
      return;
    }
    if (*devices) PrintDevices(false);
    std::printf("%s\n", (*json ? i.ToJson() : i.ToText()).c_str());
  });

  auto rm_args = std::make_shared<std::vector<std::string>>();
  CLI::App* rm = app.add_subcommand("rm", "Remove documents from a text store: STORE FILE... (as given at ingest); "
                                          "their chunks are left out of every answer");
  rm->add_option("store_and_files", *rm_args, "The store directory, then the documents' paths")->required()->expected(2, -1);
  rm->callback([rm_args] {
    const std::string dir = rm_args->front();
    StoreWriter writer = StoreWriter::Append(dir);
    size_t total = 0;
    for (size_t i = 1; i < rm_args->size(); ++i) {
      const size_t removed = RemoveTextDocument(writer, (*rm_args)[i]);
      if (removed == 0) std::fprintf(stderr, "warning: %s: no such document in %s\n", (*rm_args)[i].c_str(), dir.c_str());
      total += removed;
    }
    writer.Close();
    std::printf("removed %zu document%s from %s\n", total, total == 1 ? "" : "s", dir.c_str());
    LANDMARK_CHECK_ARG(total > 0, "rm: nothing removed");
  });

  auto verify_dir = std::make_shared<std::string>();
  auto verify_json = std::make_shared<bool>(false);
  CLI::App* verify = app.add_subcommand("verify", "Check a store completely: sizes, checksums, offsets");
  verify->add_option("store", *verify_dir, "Store directory")->required();
  verify->add_flag("--json", *verify_json, "As JSON: {store, ok, problems, tokens, checked_bytes} (exit 1 when not ok)");
  verify->callback([verify_dir, verify_json] { RunVerify(*verify_dir, *verify_json); });
}

}  // namespace landmark::cli
