// The main job with landmark's own byte model: a pass-key haystack of ~1M
// bytes built from the held-out filler text the training code ships
// (train/data/heldout.txt.gz: whole Debian source files that training never
// saw, read as train/data.py reads it), ingested through the model's lower
// blocks into a store (built once, cached), and many questions answered by the
// upper blocks with HSA over the store: " Q: pass key for vault NNN? A: " →
// "NNNNN\n". Tasks (RULER's needle variants, as train/data.py):
//   single      distinct vaults; one question per needle
//   multikey    vaults in full decades (120..129, ...): every needle has nine
//               distractors sharing two digits; one question per needle
//   multivalue  two needles (values) per vault; one question per vault,
//               " Q: pass keys for vault NNN? A: " → both values, ascending
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "landmark/model.h"

namespace landmark::demo {

struct ModelNeedle {
  uint32_t vault = 0, key = 0;
  size_t position = 0;  // byte offset of the needle sentence
};

enum class ModelTask { kSingle, kMultiKey, kMultiValue };
ModelTask ParseModelTask(const std::string& name);  // single | multikey | multivalue
const char* Name(ModelTask task);

struct ModelQuestion {
  uint32_t vault = 0;
  bool multi = false;            // " pass keys": every value of the vault
  std::string expected;          // "NNNNN" or "NNNNN NNNNN" (ascending)
  std::vector<size_t> needles;   // indices into ModelHaystack::needles
};

struct ModelHaystack {
  std::string text;                // exactly `bytes` long, no '\n'
  std::vector<ModelNeedle> needles;  // in order of position
  std::vector<ModelQuestion> questions;
};

// The held-out filler: bytes ≥ 128 → '?', < 32 → ' '.
std::string LoadFillerText(const std::string& path = "");  // "": the shipped train/data/heldout.txt.gz
// Random ≤ 4 KiB slices of `filler` joined, needles " The pass key for
// vault NNN is NNNNN. " (vaults 100..999, as the task lays them out) at seeded
// random places ending before the last 4 windows. Deterministic in
// (filler, bytes, needles, seed, task). multivalue: `needles` must be even.
ModelHaystack MakeModelHaystack(const std::string& filler, size_t bytes, size_t needles, uint64_t seed,
                                size_t window = 128, ModelTask task = ModelTask::kSingle);
std::string NeedleQuestion(uint32_t vault, bool multi = false);  // " Q: pass key[s] for vault NNN? A: "
// How many of the expected values (space-separated) stand among the
// answer's space-separated words: RULER's string_match_all for the
// multi-value task (its score is the share of values found, in any order),
// with whole words instead of substrings ("12345" is not found in "123456").
size_t ValuesFound(const std::string& expected, const std::string& answer);
size_t ValueCount(const std::string& expected);

struct ModelDemoOptions {
  std::string model = "default";
  size_t tokens = size_t(1) << 20;
  size_t needles = 16;  // multivalue: two per question
  ModelTask task = ModelTask::kSingle;
  uint64_t seed = 2026;
  std::string cache_dir;  // "": DefaultCacheDir()
  bool rebuild = false;
  bool keep = true;       // keep the store for the next run (bench: false)
  size_t segment_tokens = 4096;
};

struct ModelAnswerResult {
  ModelNeedle needle;      // the question's first needle
  std::string expected, answer;
  bool correct = false;     // the answer is the expected string (every value, in ascending order)
  size_t values = 0, values_found = 0;  // ValueCount(expected), ValuesFound(expected, answer)
  bool retrieved = false;  // some HSA block or head chose a chunk of each of the question's needles
  double seconds = 0, warm_seconds = 0;
  uint64_t bytes = 0;
};

struct ModelDemoReport {
  std::string store_path, model_path;
  ModelConfig config;
  bool reused = false;
  double ingest_seconds = 0, lower_seconds = 0;  // of the build (stored with the store when reused)
  double ingest_cpu_seconds = 0;  // user + system CPU time of the process during the build
  size_t tokens = 0;
  uint64_t store_bytes = 0;
  std::vector<ModelAnswerResult> answers;
  size_t correct = 0, retrieved = 0;
  size_t values = 0, values_found = 0;  // over every question (RULER's string_match_all = found ÷ values)
  double median_ms = 0, p95_ms = 0;            // warm (second pass)
  double cold_median_ms = 0, cold_p95_ms = 0;  // first pass
  uint64_t mean_bytes = 0;
};

struct ModelDemoProgress {
  uint64_t tokens = 0, total = 0;
  double seconds = 0;
};

ModelDemoReport RunModelDemo(const ModelDemoOptions& options, const std::function<void(const std::string&)>& log,
                             const std::function<void(const ModelDemoProgress&)>& progress = {});

}  // namespace landmark::demo
