// `landmark query`: ask a store through the retrieval engine.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "landmark/encoder.h"
#include "landmark/error.h"
#include "src/io/npy.h"
#include "landmark/retriever.h"
#include "landmark/shard.h"
#include "landmark/store.h"
#include "landmark/text_index.h"
#include "landmark/config.h"
#include "apps/cli/commands.h"
#include "apps/cli/field_options.h"
#include "apps/cli/format.h"
#include "src/config/fields.h"

namespace landmark::cli {
namespace {

struct QueryArgs {
  std::string store, question, text, q, rq, out, local_out, local_lse;
  size_t show = 5, group = 1;
  std::string weights, gpu_kv = "auto";
  bool json = false, sharded = false;
  RetrieverConfig config;  // the [retrieval] fields and --device, from the table (fields.h)
  Config text_query;       // --temperature
  std::vector<size_t> positions;
};

std::string Snippet(std::string_view text, size_t max = 120) {
  std::string s(text.substr(0, max));
  for (char& c : s) {
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
  }
  return s + (text.size() > max ? "…" : "");
}

// A text question needs the hashing encoder's store; the model stores
// answer through `ask`, and say so.
void CheckTextStore(const std::string& dir, const StoreInfo& info) {
  const auto it = info.metadata.find("encoder");
  const std::string encoder = it == info.metadata.end() ? "" : it->second;
  LANDMARK_CHECK_ARG(encoder != "model", dir + ": written by landmark's byte model (ingest --model): ask it with "
                                               "`landmark ask " + dir + " \"QUESTION\"`");
  LANDMARK_CHECK_ARG(encoder != "llm", dir + ": written by a Hugging Face model (ingest --model DIR): ask it with "
                                             "`landmark ask " + dir + " \"QUESTION\" --model DIR`");
  LANDMARK_CHECK_ARG(encoder == "hashing", dir + ": holds K/V without a text encoder (ingest --keys/--values): "
                                               "query it with --q Q.npy");
}

void RunQuery(QueryArgs a) {
  LANDMARK_CHECK_ARG(a.question.empty() || a.text.empty(), "query: give the question once (as an argument or --text)");
  if (a.text.empty()) a.text = a.question;
  // --sharded: `store` is the prefix of a sharded store; every rank (MPI
  // process) reads the queries, rank 0's are broadcast, rank 0 reports.
  Communicator* comm = a.sharded ? &MpiWorld() : nullptr;
  const bool reporter = !comm || comm->rank() == 0;
  const StoreReader store = StoreReader::Open(comm ? ShardPath(a.store, comm->rank()) : a.store);
  const StoreShape& s = store.shape();
  LANDMARK_CHECK_ARG(a.text.empty() != a.q.empty(),
                     "query: give a question (query STORE \"QUESTION\", or --text) or --q Q.npy (one of them)");
  // Queries: M × [H_q][d] (and optionally r: M × [LH][R]).
  std::vector<float> q, r;
  size_t M = 1, q_heads = s.kv_heads * a.group;
  if (!a.text.empty()) {
    LANDMARK_CHECK_ARG(a.rq.empty(), "query: --rq goes with --q");
    CheckTextStore(comm ? ShardPath(a.store, comm->rank()) : a.store, store.info());
    const HashingEncoder encoder(HashingEncoderOptionsOf(store.info()));
    const HashingEncoder::QueryVectors v = encoder.EncodeTextQuery(a.text, a.group, a.text_query.temperature);
    q = v.q;
    r = v.r;
    LANDMARK_CHECK_ARG(s.landmark_heads == s.kv_heads && s.landmark_dim == s.head_dim,
                       a.store + ": text queries need one landmark per kv head of the head dim");
  } else {
    const NpyArray qa = NpyArray::Open(a.q);
    qa.CheckRank(3, "--q [M, H_q, d]");
    LANDMARK_CHECK_ARG(qa.dtype() == DType::kF32, a.q + ": --q must be f32 ('<f4'), is " + Name(qa.dtype()));
    LANDMARK_CHECK_ARG(qa.shape()[2] == s.head_dim, a.q + ": head dim " + std::to_string(qa.shape()[2]) +
                                                        " differs from the store's " + std::to_string(s.head_dim));
    M = qa.shape()[0];
    q_heads = qa.shape()[1];
    q.assign(static_cast<const float*>(qa.data()), static_cast<const float*>(qa.data()) + qa.elements());
    if (!a.rq.empty()) {
      const NpyArray ra = NpyArray::Open(a.rq);
      ra.CheckRank(3, "--rq [M, landmark heads, R]");
      const std::vector<size_t> expected{M, s.landmark_heads, s.landmark_dim};
      LANDMARK_CHECK_ARG(ra.dtype() == DType::kF32 && ra.shape() == expected,
                         a.rq + ": --rq must be f32 of shape (" + std::to_string(M) + ", " +
                             std::to_string(s.landmark_heads) + ", " + std::to_string(s.landmark_dim) + "), is " +
                             ra.ShapeString());
      r.assign(static_cast<const float*>(ra.data()), static_cast<const float*>(ra.data()) + ra.elements());
    }
  }
  LANDMARK_CHECK_ARG(a.positions.empty() || a.positions.size() == 1 || a.positions.size() == M,
                     "query: --pos takes one position, or one per query (" + std::to_string(M) + ")");

  RetrieverConfig config = a.config;
  config.q_heads = q_heads;
  config.gpu_kv = ParseGpuKv(a.gpu_kv);
  std::unique_ptr<Retriever> retriever;
  std::unique_ptr<ShardedRetriever> sharded;
  if (comm) sharded = std::make_unique<ShardedRetriever>(a.store, config, *comm);
  else retriever = std::make_unique<Retriever>(store, config);
  // A text store with an index ranks its chunks by BM25, then attends.
  std::unique_ptr<TextIndex> index;
  if (!a.text.empty() && HasTextIndex(store.info())) {
    LANDMARK_CHECK_ARG(!comm, a.store + ": --sharded text stores with an index are not supported");
    index = std::make_unique<TextIndex>(store);
  }
  std::vector<RetrievalQuery> queries(M);
  const size_t d = s.head_dim, rsize = s.landmark_heads * s.landmark_dim;
  for (size_t i = 0; i < M; ++i) {
    queries[i].q = q.data() + i * q_heads * d;
    queries[i].r = r.empty() ? nullptr : r.data() + i * rsize;
    if (!a.positions.empty()) queries[i].position = a.positions[a.positions.size() == 1 ? 0 : i];
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<TextHit> hits;
  if (index) hits = index->Search(a.text, config.top_k);
  auto ranked = [&] {
    std::vector<uint32_t> chunks;
    std::vector<float> scores;
    for (const TextHit& h : hits) {
      chunks.push_back(h.chunk);
      scores.push_back(float(h.score));
    }
    return std::vector<RetrievalResult>{retriever->QueryChunks(queries[0], chunks, scores)};
  };
  const std::vector<RetrievalResult> results = index   ? ranked()
                                             : sharded ? sharded->QueryBatch(queries)
                                             : M == 1   ? std::vector<RetrievalResult>{retriever->Query(queries[0])}
                                                        : retriever->QueryBatch(queries);
  const double ms = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() * 1e3;
  if (!reporter) return;
  // Chunk texts: rank 0's shard holds the first chunks of a sharded store.
  const bool has_text = store.info().has_text;
  auto text = [&](uint32_t chunk) {
    return has_text && (!sharded || chunk < store.chunks()) ? store.text(chunk) : std::string_view();
  };

  auto write = [&](const std::string& path, auto member, size_t per_query) {
    if (path.empty()) return;
    std::vector<float> all;
    for (const auto& res : results) all.insert(all.end(), (res.*member).begin(), (res.*member).end());
    std::vector<size_t> shape{M, q_heads};
    if (per_query == q_heads * d) shape.push_back(d);
    WriteNpy(path, all.data(), DType::kF32, shape);
  };
  write(a.out, &RetrievalResult::out, q_heads * d);
  if (config.fusion == Fusion::kHsa) {
    write(a.local_out, &RetrievalResult::local_out, q_heads * d);
    write(a.local_lse, &RetrievalResult::local_lse, q_heads);
  } else {
    LANDMARK_CHECK_ARG(a.local_out.empty() && a.local_lse.empty(), "query: --local-out/--local-lse need --fusion hsa");
  }

  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& res : results) {
      nlohmann::json selections = nlohmann::json::array();
      for (const auto& sel : res.selections) {
        nlohmann::json chunks = nlohmann::json::array();
        for (size_t i = 0; i < sel.chunks.size(); ++i) {
          nlohmann::json c = {{"chunk", sel.chunks[i]}, {"score", sel.scores[i]}, {"weight", sel.weights[i]}};
          if (has_text) c["text"] = std::string(text(sel.chunks[i]));
          if (index) {
            const TextSource src = index->source(sel.chunks[i]);
            c["source"] = {{"path", src.path}, {"begin", src.begin}, {"end", src.end}};
          }
          chunks.push_back(c);
        }
        selections.push_back(chunks);
      }
      j.push_back({{"position", res.position}, {"candidates", res.candidates}, {"local_tokens", res.local_tokens},
                   {"bytes_touched", res.bytes_touched}, {"selections", selections}, {"out", res.out}});
    }
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  for (size_t i = 0; i < M; ++i) {
    const RetrievalResult& res = results[i];
    if (M > 1) std::printf("query %zu\n", i);
    std::printf("position %zu: %zu candidate chunks, %zu local tokens; top %zu of %zu per %s\n", res.position,
                res.candidates, res.local_tokens, std::min(a.show, config.top_k), config.top_k,
                res.selections.size() > 1 ? "kv head" : "query");
    for (size_t h = 0; h < res.selections.size(); ++h) {
      const SelectionExplanation& sel = res.selections[h];
      if (res.selections.size() > 1) std::printf(" kv head %zu\n", h);
      std::printf("  %-8s %-9s %-8s %s\n", "chunk", "score", "weight", has_text ? "text" : "");
      for (size_t k = 0; k < std::min(a.show, sel.chunks.size()); ++k) {
        std::printf("  %-8u %-9.4f %-8.4f %s\n", sel.chunks[k], sel.scores[k], sel.weights[k],
                    has_text ? Snippet(text(sel.chunks[k])).c_str() : "");
        if (index) {
          const TextSource src = index->source(sel.chunks[k]);
          std::printf("  %-8s from %s, bytes %llu-%llu\n", "", src.path.c_str(), (unsigned long long)src.begin,
                      (unsigned long long)src.end);
        }
      }
      if (index && sel.chunks.empty()) std::printf("  (no chunk shares a word with the question)\n");
    }
    double norm = 0;
    for (float x : res.out) norm += double(x) * x;
    std::printf("  output [%zu, %zu]: norm %.4f, first values %.4f %.4f %.4f\n", q_heads, d, std::sqrt(norm),
                res.out[0], res.out[1 % res.out.size()], res.out[2 % res.out.size()]);
    std::printf("  read %s of %s (landmarks + selected K/V%s)\n", Bytes(double(res.bytes_touched)).c_str(),
                Bytes(double(store.info().kv_bytes + store.info().landmark_bytes)).c_str(),
                sharded ? ", all ranks; of rank 0's shard" : "");
  }
  const std::string where = sharded ? fmt::format("{} ranks (sharded, {} tokens)", comm->size(), sharded->tokens())
                            : retriever->device() == Device::kCuda
                                ? (retriever->kv_on_gpu() ? "cuda (K/V resident)" : "cuda (K/V streamed)")
                                : "cpu";
  std::printf("%zu quer%s in %.2f ms on %s\n", M, M == 1 ? "y" : "ies", ms, where.c_str());
}

}  // namespace

void AddQueryCommand(CLI::App& app) {
  auto a = std::make_shared<QueryArgs>();
  CLI::App* query = app.add_subcommand("query", "Ask a store: score landmarks, select top-k chunks, attend, fuse");
  query->add_option("store", a->store, "Store directory (--sharded: the sharded store's prefix)")->required();
  query->add_flag("--sharded", a->sharded,
                  "A sharded store (ingest --shards), one shard per MPI rank: mpirun -np N landmark query --sharded PREFIX ...");
  query->add_option("question", a->question, "A question, as `ask` takes it (text stores; the same as --text)");
  query->add_option("--text", a->text, "A question, encoded by the store's hashing encoder (text stores)");
  query->add_option("--q", a->q, "Queries [M, H_q, d] f32 .npy (position n-1 unless --pos)");
  query->add_option("--rq", a->rq, "Retrieval queries [M, landmark heads, R] f32 (default: mean of each group's q)");
  // --top-k, --fusion, --hsa-weights, --window, --sinks, --softmax1, --device (q_heads: from --group or --q).
  AddFieldOptions(*query, RetrievalFields(), a->config, {"model.q_heads"});
  // --weights names a weights file in every other command.
  query->add_option("--weights", a->weights)
      ->group("")
      ->check(CLI::Validator(
          [](std::string&) -> std::string {
            return "query: --weights is --hsa-weights here (softmax or stickbreaking); --weights names a weights "
                   "file in every other command";
          },
          ""));
  query->add_option("--pos", a->positions, "Query position(s): one, or one per query");
  query->add_option("--group", a->group, "Text: query heads per kv head (G)")->capture_default_str();
  AddFieldOptions(*query, TextQueryFields(), a->text_query);  // --temperature
  query->add_option("--out", a->out, "Write the output [M, H_q, d] f32 .npy (hsa: the retrieval term)");
  query->add_option("--local-out", a->local_out, "HSA: write the local term's output [M, H_q, d]");
  query->add_option("--local-lse", a->local_lse, "HSA: write the local term's lse [M, H_q]");
  query->add_option("--show", a->show, "Chunks shown per head")->capture_default_str();
  query->add_flag("--json", a->json, "Print JSON");
  query->add_option("--gpu-kv", a->gpu_kv, "CUDA: K/V resident in GPU memory, streamed per query, or auto")
      ->capture_default_str();
  query->callback([a] { RunQuery(*a); });
}

}  // namespace landmark::cli
