// The main job: a pass-key haystack of ~1M tokens ingested into a store on
// disk (built once, cached), one question per needle through the hashing
// encoder and the retrieval engine, and what it cost against dense exact
// attention over the same store. The engine alone finds each needle: chunks
// are chosen by landmark scores and weighted by attention; the pass key is
// then read from the text of the selected chunk with the highest fused
// weight (and its neighbours, for a sentence that crosses a chunk edge).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "landmark/ingest.h"
#include "landmark/store.h"

namespace landmark::demo {

struct PasskeyDemoOptions {
  size_t tokens = size_t(1) << 20;
  size_t needles = 64;
  size_t head_dim = 512;  // hashing-encoder noise falls as 1/sqrt(d)
  size_t top_k = 64;
  float temperature = 16.0f;
  uint64_t seed = 2026;
  std::string cache_dir;  // where the store is kept; "" = DefaultCacheDir()
  size_t dense_repeats = 3;
  bool rebuild = false;   // ignore a cached store
};

struct NeedleResult {
  uint32_t vault = 0, key = 0, answer = 0;  // answer 0: none read
  double depth = 0;                        // fraction of the haystack before it
  size_t first_chunk = 0, last_chunk = 0;  // chunks holding the needle sentence
  size_t rank = 0;                         // best rank of those in the selection (top_k+: missed)
  size_t top_chunk = 0;                    // the selected chunk with the highest fused weight
  double seconds = 0;
  uint64_t bytes = 0;
  bool recalled() const;
};

struct PasskeyDemoReport {
  std::string store_path;
  StoreInfo info;
  bool reused = false;
  double build_seconds = 0;
  std::vector<NeedleResult> needles;
  size_t recalled = 0, answered = 0;
  double median_ms = 0, p95_ms = 0;            // warm (second pass)
  double cold_median_ms = 0, cold_p95_ms = 0;  // first pass
  double dense_ms = 0;
  uint64_t mean_bytes = 0;
};

// $LANDMARK_CACHE_DIR, else $XDG_CACHE_HOME/landmark, else ~/.cache/landmark.
std::string DefaultCacheDir();

using DemoLog = std::function<void(const std::string&)>;
// `progress` sees the ingest of a new store.
PasskeyDemoReport RunPasskeyDemo(const PasskeyDemoOptions& options, const DemoLog& log,
                                 const IngestProgressFn& progress = {});

}  // namespace landmark::demo
