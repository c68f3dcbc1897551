// CLI subcommands register themselves on the app; main() runs the chosen one.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace landmark {
struct StoreOptions;
}

namespace landmark::cli {

// Each Add* registers a subcommand whose callback does the work.
void AddBenchCommands(CLI::App& app);
void AddStoreCommands(CLI::App& app);  // ingest, info, verify
void AddQueryCommand(CLI::App& app);
void AddDemoCommand(CLI::App& app);
void AddPrefillCommand(CLI::App& app);  // prefill
void AddGmuCommands(CLI::App& app);     // gmu init-weights | run
void AddModelCommands(CLI::App& app);   // ask, model info|random
void AddLlmCommands(CLI::App& app);     // generate (Hugging Face models)

// `model info DIR`: a Hugging Face model directory described on stdout.
void DescribeLlm(const std::string& dir);

// `ingest --model`: text files through the byte model into a store,
// committing (with the model state) every `commit_every` chunks.
void RunModelIngest(const std::string& model_spec, const std::string& out, const std::vector<std::string>& inputs,
                    const std::string& dtype, bool strict, size_t commit_every = 1024);

// `ingest --shards N`: keys/values split into N shards of whole chunks,
// PREFIX/shard-NNNNN, each a new store made with `options`.
void RunShardedIngest(const std::string& prefix, const std::string& keys, const std::string& values,
                      const std::string& landmarks, size_t shards, const StoreOptions& options);

// Runs `command` in a TBB arena of `threads` (0: all CPUs).
void RunWithThreads(size_t threads, const std::function<void()>& command);

}  // namespace landmark::cli
