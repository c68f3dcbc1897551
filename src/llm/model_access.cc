// The store side's view of a model (src/llm/model_access.h).
#include "src/llm/model_access.h"

#include <xxhash.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "landmark/error.h"

namespace landmark::llm {
namespace {

void HashFile(XXH3_state_t* state, const std::string& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  LANDMARK_CHECK_ARG(in.good(), path + ": cannot read");
  std::string buffer(limit, '\0');
  in.read(buffer.data(), std::streamsize(limit));
  XXH3_64bits_update(state, buffer.data(), size_t(in.gcount()));
}

}  // namespace

AttentionShape ShapeOf(const LlmModel& model) {
  const LlmConfig& c = model.config();
  return AttentionShape{c.layers, c.q_heads, c.kv_heads, c.head_dim};
}

size_t TrainedContext(const LlmModel& model) { return model.config().max_position_embeddings; }

size_t SmallestWindow(const LlmModel& model) {
  size_t w = 0;
  for (size_t x : model.config().layer_windows) {
    if (x > 0) w = w == 0 ? x : std::min(w, x);
  }
  return w;
}

std::string ModelDigest(const LlmModel& model) {
  namespace fs = std::filesystem;
  const std::string& dir = model.config().dir;
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  for (const char* name : {"config.json", "tokenizer.json"}) {
    const std::string path = (fs::path(dir) / name).string();
    if (fs::exists(path)) HashFile(state, path, size_t(64) << 20);
  }
  for (const std::string& file : model.files()) {
    const uint64_t size = fs::file_size(file);
    XXH3_64bits_update(state, &size, sizeof size);
    uint64_t header = 0;  // safetensors: u64 header length, then the JSON header
    std::ifstream in(file, std::ios::binary);
    in.read(reinterpret_cast<char*>(&header), 8);
    HashFile(state, file, size_t(std::min<uint64_t>(8 + header, uint64_t(100) << 20)));
  }
  const uint64_t h = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

std::string ModelName(const LlmModel& model) {
  std::filesystem::path p(model.config().dir);
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

std::vector<int32_t> StopIds(const LlmModel& model, const Tokenizer& tokenizer) {
  std::vector<int32_t> ids = model.config().eos_ids;
  auto add = [&](int32_t id) {
    if (id >= 0 && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  };
  add(tokenizer.eos_id());
  for (const char* turn_end : {"<|eot_id|>", "<|im_end|>", "<|end_of_text|>", "<|endoftext|>"}) {
    add(tokenizer.TokenId(turn_end));
  }
  return ids;
}

StoreAttentionOptions AttentionOptionsOf(const LlmRetrievalOptions& retrieval) {
  StoreAttentionOptions o;
  o.sink_chunks = retrieval.sink_chunks;
  o.window = retrieval.window;
  o.top_k = retrieval.top_k;
  o.select_block = retrieval.select_block;
  o.true_positions = retrieval.true_positions;
  o.segment.policy = retrieval.flashprefill ? PrefillPolicy::kFlashPrefill : PrefillPolicy::kDense;
  o.segment.device = Device::kCpu;
  return o;
}

}  // namespace landmark::llm
