// Blocks of the byte model over a segment: embedding, lower blocks, chunk
// memory and landmarks, upper blocks (HSA through the Retriever, GMU), head.
#include <algorithm>
#include <cmath>

#include "landmark/error.h"
#include "src/model/layers.h"

namespace landmark::model {

RetrieverConfig HsaRetrieverConfig(const ModelConfig& c) {
  RetrieverConfig r;
  r.q_heads = c.heads;
  r.top_k = c.top_k;
  r.fusion = c.fusion;  // joint: one softmax over the k chunks' tokens (no local term: the SWA reads those)
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
  RmsNormRows(h, m.memory_norm, M, D, D, float(m.config.norm_eps), mrows);
  m.memory_wk.Forward(mrows, M, k);
  m.memory_wv.Forward(mrows, M, v);
}

void LandmarkForward(const Model::Impl& m, const float* means, size_t chunks, float* landmarks) {
  const ModelConfig& c = m.config;
  m.memory_wl.Forward(means, chunks, landmarks);
  RmsNormRows(landmarks, m.landmark_norm, chunks, c.d_model, c.head_dim, float(c.norm_eps), landmarks);
}

void UpperBlockForward(const Model::Impl& m, size_t j, const Retriever& retriever, SwaCache& cache, float* x,
                       size_t M, size_t first, float* mem, Workspace& ws, UpperStats* stats) {
  const size_t D = m.config.d_model;
  const UpperWeights& u = m.upper[j];
  SwaForward(m, u.swa, cache, x, M, ws);
  if (u.kind == LayerKind::kHsa) {
    std::vector<size_t> positions(M);
    for (size_t t = 0; t < M; ++t) positions[t] = first + t;
    ws.retrieved.resize(M * D);
    // mem = W_o a: kept for the GMU blocks after it.
    const std::vector<RetrievalResult> results =
        u.hsa.Forward(retriever, x, M, positions.data(), /*past_store=*/true, ws.retrieved.data(), mem);
    ForRows(M, [&](size_t begin, size_t end) { AddInPlace(x + begin * D, mem + begin * D, (end - begin) * D); });
    if (stats) {
      size_t candidates = 0;
      for (const RetrievalResult& r : results) {
        candidates = std::max(candidates, r.candidates);
        stats->bytes_touched += r.bytes_touched - r.candidates * stats->landmark_chunk_bytes;
      }
      stats->bytes_touched += candidates * stats->landmark_chunk_bytes;
      if (stats->record_chunks && !results.empty())
        for (const SelectionExplanation& s : results.back().selections)
          stats->last_chunks.insert(stats->last_chunks.end(), s.chunks.begin(), s.chunks.end());
    }
  } else {
    u.gmu.Forward(x, mem, M, x, /*accumulate=*/true);
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
  RmsNormRows(x, m.final_norm, M, D, D, float(m.config.norm_eps), ws.a.data());
  m.lm_head.Forward(ws.a.data(), M, logits);
}

}  // namespace landmark::model
