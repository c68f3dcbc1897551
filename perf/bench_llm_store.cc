// `landmark bench llm --store-tokens N`: a pretrained-LLM shape reading a
// store of N tokens (every layer's K/V, synthetic) through retrieval
// attention, against dense exact attention over the same store.
#include <fmt/core.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "landmark/error.h"
#include "landmark/llm_store.h"
#include "perf/bench_llm.h"
#include "perf/bench_report.h"
#include "perf/synthetic_store.h"
#include "src/attention/dense_over_store.h"
#include "src/llm/model_access.h"
#include "src/llm/rope.h"
#include "src/llm/store_attention.h"
#include "src/llm/transformer.h"

namespace landmark::perf {
namespace {

constexpr size_t kChunk = 64;  // BuildStore's chunk size

// The store of `tokens` tokens for `model`'s shape under `cache` (built once).
std::string PrepareStore(const std::string& cache, const std::string& name, const llm::AttentionShape& s,
                         size_t tokens, uint64_t seed, const std::function<void(const std::string&)>& log) {
  const std::filesystem::path dir =
      std::filesystem::path(cache) / fmt::format("store-{}-{}-seed{}", name, tokens, seed);
  const std::string stamp = fmt::format("{} {} {} v1\n", name, tokens, seed);
  {
    std::ifstream marker(dir / "bench-complete.txt");
    std::string line;
    if (marker && std::getline(marker, line) && line + "\n" == stamp) return dir.string();
  }
  log(fmt::format("writing a {}-token store of {} × {} kv heads × {} dims (f16; once) to {}", tokens, s.layers,
                  s.kv_heads, s.head_dim, dir.string()));
  BuildStore(dir.string(), tokens, s.layers * s.kv_heads, 1, s.head_dim, 0, uint32_t(seed), log);
  std::ofstream(dir / "bench-complete.txt") << stamp;
  return dir.string();
}

// Median step time (ms) of `steps` decode steps after a `question`-token
// prefill, and the question's prefill time (s).
struct Timing {
  double step_ms = 0, best_ms = 0, question_s = 0;
  size_t steps = 0;
};

Timing TimeDecode(const llm::LlmModel& model, const StoreReader& store, const llm::StoreAttentionOptions& o,
                  size_t question, size_t steps, uint64_t seed) {
  const llm::LlmConfig& c = model.config();
  llm::Rope rope(c);
  llm::StoreAttention attention(&store, llm::ShapeOf(model), rope, o);
  llm::Transformer transformer(model);
  std::vector<float> logits(c.vocab_size);
  std::vector<int32_t> ids(question);
  for (size_t i = 0; i < question; ++i) ids[i] = int32_t((seed + 7919 * i) % c.vocab_size);
  size_t position = store.tokens();
  Timing t;
  auto start = Clock::now();
  transformer.Forward(ids.data(), ids.size(), position, attention, 1, logits.data());
  t.question_s = Millis(start, Clock::now()) / 1e3;
  position += question;
  std::vector<double> ms;
  for (size_t s = 0; s < steps; ++s) {
    const int32_t id = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    start = Clock::now();
    transformer.Forward(&id, 1, position++, attention, 1, logits.data());
    ms.push_back(Millis(start, Clock::now()));
  }
  std::sort(ms.begin(), ms.end());
  t.steps = ms.size();
  if (!ms.empty()) {
    t.step_ms = ms[ms.size() / 2];
    t.best_ms = ms.front();
  }
  return t;
}

}  // namespace

std::vector<LlmStoreBenchRow> BenchLlmStore(const LlmBenchOptions& options,
                                            const std::function<void(const std::string&)>& log) {
  const std::string cache = options.cache_dir.empty() ? DefaultLlmBenchCache() : options.cache_dir;
  std::vector<LlmStoreBenchRow> rows;
  for (const std::string& name : options.store_models) {
    const llm::LlmModel model = llm::LlmModel::Load(PrepareRandomLlm(cache, name, options.seed, log));
    const llm::AttentionShape shape = llm::ShapeOf(model);
    const size_t n = options.store_tokens / kChunk * kChunk;
    LANDMARK_CHECK_ARG(n >= kChunk, "bench llm: --store-tokens must be at least one chunk (64)");
    const StoreReader store = StoreReader::Open(PrepareStore(cache, name, shape, n, options.seed, log));

    llm::LlmRetrievalOptions defaults;
    const llm::LlmRetrievalOptions r = defaults.Resolved(model, kChunk);
    const llm::StoreAttentionOptions sparse = llm::AttentionOptionsOf(r);  // as the answerer reads
    // Dense decode's non-attention part: the same step attending only the
    // first chunk; its attention part is timed apart, over every token.
    llm::StoreAttentionOptions weights_only = sparse;
    weights_only.top_k = 0;
    weights_only.window = 0;

    LlmStoreBenchRow row;
    row.model = name;
    row.store_tokens = n;
    row.question_tokens = options.question_tokens;
    row.window = r.window;
    row.top_k = r.top_k;
    row.sinks = r.sink_chunks;
    const double kv_row = double(shape.layers * shape.kv_heads * shape.head_dim) * 2.0 * 2.0;  // K+V f16 per token
    row.kv_bytes = kv_row * double(n);
    row.weight_bytes = double(model.weight_bytes());
    // Per step: the weights, every landmark (f16, one per chunk and store
    // head), the selected chunks + sinks + window (+ the question so far).
    const double landmarks = double(n / kChunk) * double(shape.layers * shape.kv_heads * shape.head_dim) * 2.0;
    const double attended = double(std::min(n, (r.top_k + r.sink_chunks) * kChunk + r.window + kChunk));
    row.sparse_bytes = row.weight_bytes + landmarks + kv_row * attended;
    row.dense_bytes = row.weight_bytes + row.kv_bytes;

    const size_t q_heads = shape.layers * shape.q_heads;
    std::vector<float> q(q_heads * shape.head_dim), out(q.size());
    for (size_t i = 0; i < q.size(); ++i) q[i] = float((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    auto dense_attention_ms = [&] {
      const auto start = Clock::now();
      DenseDecodeOverStore(store, q.data(), q_heads, out.data(), nullptr);
      return Millis(start, Clock::now());
    };
    log(fmt::format("{}: warm-up pass over the {}-token store (page cache)", name, n));
    dense_attention_ms();
    log(fmt::format("{}: {} decode steps with retrieval attention (top-{} chunks, window {})", name,
                    options.decode_steps, r.top_k, r.window));
    const Timing s = TimeDecode(model, store, sparse, options.question_tokens, options.decode_steps, options.seed);
    log(fmt::format("{}: dense exact decode: the step without attention + {} passes of exact attention over all {} "
                    "tokens of every layer", name, options.dense_steps, n));
    const Timing w = TimeDecode(model, store, weights_only, options.question_tokens, options.decode_steps, options.seed);
    std::vector<double> attention_ms;
    for (size_t i = 0; i < std::max<size_t>(1, options.dense_steps); ++i) attention_ms.push_back(dense_attention_ms());
    std::sort(attention_ms.begin(), attention_ms.end());
    row.sparse_ms = s.step_ms;
    row.sparse_best_ms = s.best_ms;
    row.question_s = s.question_s;
    row.dense_ms = w.step_ms + attention_ms[attention_ms.size() / 2];
    rows.push_back(row);
  }
  return rows;
}

void RateLlmStoreRows(std::vector<LlmStoreBenchRow>& rows, const MachineLimits& limits) {
  for (LlmStoreBenchRow& r : rows) {
    r.sparse_limit_ms = r.sparse_bytes / (limits.read_gbps_all * 1e9) * 1e3;
    r.dense_limit_ms = r.dense_bytes / (limits.read_gbps_all * 1e9) * 1e3;
    r.sparse_ratio = r.sparse_ms / std::max(r.sparse_limit_ms, 1e-12);
    r.dense_ratio = r.dense_ms / std::max(r.dense_limit_ms, 1e-12);
    r.speedup = r.dense_ms / std::max(r.sparse_ms, 1e-12);
  }
}

void PrintLlmStoreTable(std::FILE* out, const std::vector<LlmStoreBenchRow>& rows) {
  fmt::print(out, "{:>13} {:>8} {:>9} {:>5} {:>6} {:>10} {:>10} {:>9} {:>6} {:>10} {:>9} {:>6} {:>8}\n",
             "model", "store", "K/V", "top-k", "window", "question", "decode", "limit", "ratio", "dense", "limit",
             "ratio", "speedup");
  for (const LlmStoreBenchRow& r : rows) {
    fmt::print(out,
               "{:>13} {:>8} {:>5.2f} GiB {:>5} {:>6} {:>10} {:>7.2f} ms {:>6.2f} ms {:>6.2f} {:>7.1f} ms "
               "{:>6.1f} ms {:>6.2f} {:>7.1f}x\n",
               r.model, r.store_tokens, r.kv_bytes / double(1u << 30), r.top_k, r.window, FormatTime(r.question_s),
               r.sparse_ms, r.sparse_limit_ms, r.sparse_ratio, r.dense_ms,
               r.dense_limit_ms, r.dense_ratio, r.speedup);
  }
}

void WriteLlmStoreCsv(const std::string& path, const MachineLimits& limits, const std::vector<LlmStoreBenchRow>& rows) {
  std::ofstream f = OpenCsv(path);
  f << "cpu,target,threads,read_gbps_all,model,store_tokens,kv_bytes,weight_bytes,top_k,window,sinks,"
       "question_tokens,question_s,sparse_ms,sparse_best_ms,sparse_bytes,sparse_limit_ms,sparse_ratio,dense_ms,"
       "dense_bytes,dense_limit_ms,dense_ratio,speedup\n";
  for (const LlmStoreBenchRow& r : rows) {
    f << Quoted(limits.cpu) << ',' << limits.target << ',' << limits.threads << ',' << limits.read_gbps_all << ','
      << r.model << ',' << r.store_tokens << ',' << r.kv_bytes << ',' << r.weight_bytes << ',' << r.top_k << ','
      << r.window << ',' << r.sinks << ',' << r.question_tokens << ',' << r.question_s << ',' << r.sparse_ms << ','
      << r.sparse_best_ms << ',' << r.sparse_bytes << ',' << r.sparse_limit_ms << ',' << r.sparse_ratio << ','
      << r.dense_ms << ',' << r.dense_bytes << ',' << r.dense_limit_ms << ','
      << r.dense_ratio << ',' << r.speedup << '\n';
  }
}

}  // namespace landmark::perf
