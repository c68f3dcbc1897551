// Blocks of the byte model over a segment: embedding, lower blocks, chunk
// memory and landmarks, upper blocks (HSA through the Retriever, GMU), head.
#include <algorithm>
#include <cmath>

#include "landmark/error.h"
#include "src/model/layers.h"

namespace landmark::model {

void Norm(const float* x, const std::vector<float>& weight, size_t rows, size_t d, size_t group, float eps,
          float* y) {
  ForRows(rows, [&](size_t begin, size_t end) {
    RmsNorm(x + begin * d, weight.data(), end - begin, d, group, eps, y + begin * d);
  });
}

RetrieverConfig HsaRetrieverConfig(const ModelConfig& c) {
  RetrieverConfig r;
  r.q_heads = c.heads;
  r.top_k = c.top_k;
  r.fusion = Fusion::kHsa;
  r.weights = RetrievalWeights::kSoftmax;
  r.window = c.window;
  r.local_term = false;
  return r;
}

void Embed(const Model::Impl& m, const unsigned char* bytes, size_t M, float* x) {
  const size_t D = m.config.d_model;
  ForRows(M, [&](size_t begin, size_t end) {
    for (size_t t = begin; t < end; ++t) {
      const size_t b = bytes[t] < m.config.vocab ? bytes[t] : size_t('?');
      std::copy_n(&m.embed[b * D], D, x + t * D);
    }
  });
}

void LowerForward(const Model::Impl& m, std::vector<SwaCache>& caches, float* x, size_t M, Workspace& ws) {
  for (size_t i = 0; i < m.lower.size(); ++i) {
    SwaForward(m, m.lower[i], caches[i], x, M, ws);
    MlpForward(m, m.lower[i], x, M, ws);
  }
}

void MemoryForward(const Model::Impl& m, const float* h, size_t M, float* mrows, float* k, float* v) {
  const size_t D = m.config.d_model;
  Norm(h, m.memory_norm, M, D, D, float(m.config.norm_eps), mrows);
  m.memory_wk.Forward(mrows, M, k);
  m.memory_wv.Forward(mrows, M, v);
}

void LandmarkForward(const Model::Impl& m, const float* means, size_t chunks, float* landmarks) {
  const ModelConfig& c = m.config;
  m.memory_wl.Forward(means, chunks, landmarks);
  Norm(landmarks, m.landmark_norm, chunks, c.d_model, c.head_dim, float(c.norm_eps), landmarks);
}

void UpperBlockForward(const Model::Impl& m, size_t j, const Retriever& retriever, SwaCache& cache, float* x,
                       size_t M, size_t first, float* mem, Workspace& ws, UpperStats* stats) {
  const ModelConfig& c = m.config;
  const size_t D = c.d_model;
  const float eps = float(c.norm_eps);
  const UpperWeights& u = m.upper[j];
  SwaForward(m, u.swa, cache, x, M, ws);
  ws.a.resize(M * D);
  if (u.kind == BlockKind::kHsa) {
    Norm(x, u.hsa_norm, M, D, D, eps, ws.a.data());
    ws.rq.resize(M * 2 * D);
    ws.r.resize(M * D);
    u.hsa_wrq.Forward(ws.a.data(), M, ws.rq.data());
    std::vector<RetrievalQuery> queries(M);
    for (size_t t = 0; t < M; ++t) {
      RmsNorm(&ws.rq[t * 2 * D], u.hsa_r_norm.data(), 1, D, c.head_dim, eps, &ws.r[t * D]);
      queries[t] = RetrievalQuery{&ws.rq[t * 2 * D + D], &ws.r[t * D], first + t, true};
    }
    const std::vector<RetrievalResult> results = retriever.QueryBatch(queries);
    ws.retrieved.resize(M * D);
    size_t candidates = 0;
    for (size_t t = 0; t < M; ++t) {
      std::copy_n(results[t].out.data(), D, &ws.retrieved[t * D]);
      candidates = std::max(candidates, results[t].candidates);
      if (stats) stats->bytes_touched += results[t].bytes_touched - results[t].candidates * stats->landmark_chunk_bytes;
    }
    if (stats) stats->bytes_touched += candidates * stats->landmark_chunk_bytes;
    if (stats && stats->last_chunks.empty() && !results.empty()) stats->last_chunks = results.back().selections[0].chunks;
    u.hsa_wo.Forward(ws.retrieved.data(), M, mem);  // a: kept for the GMU blocks after it
    ForRows(M, [&](size_t begin, size_t end) { AddInPlace(x + begin * D, mem + begin * D, (end - begin) * D); });
  } else {
    Norm(x, u.gmu_norm, M, D, D, eps, ws.a.data());
    ws.hidden.resize(M * D);
    u.gmu_win.Forward(ws.a.data(), M, ws.hidden.data());
    ForRows(M, [&](size_t begin, size_t end) {
      SiluGate(mem + begin * D, &ws.hidden[begin * D], (end - begin) * D, &ws.hidden[begin * D]);
    });
    u.gmu_wout.Forward(ws.hidden.data(), M, x, /*accumulate=*/true);
  }
  MlpForward(m, u.swa, x, M, ws);
}

void UpperForward(const Model::Impl& m, const Retriever& retriever, std::vector<SwaCache>& caches, float* x,
                  size_t M, size_t first, Workspace& ws, UpperStats* stats) {
  ws.mem.resize(M * m.config.d_model);
  for (size_t j = 0; j < m.upper.size(); ++j) {
    UpperBlockForward(m, j, retriever, caches[j], x, M, first, ws.mem.data(), ws, stats);
  }
}

void HeadForward(const Model::Impl& m, const float* x, size_t M, float* logits, Workspace& ws) {
  const size_t D = m.config.d_model;
  ws.a.resize(M * D);
  Norm(x, m.final_norm, M, D, D, float(m.config.norm_eps), ws.a.data());
  m.lm_head.Forward(ws.a.data(), M, logits);
}

}  // namespace landmark::model
