#include "src/attention/explain.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "src/attention/fusion.h"

namespace landmark {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::vector<std::vector<float>> NoneAttended(const RetrievalContext& ctx, const Selection& selected) {
  const size_t served = ctx.LH == ctx.H ? 1 : ctx.H;
  std::vector<std::vector<float>> out(ctx.LH);
  for (size_t s = 0; s < ctx.LH; ++s) out[s].assign(selected[s].size() * served * ctx.G, kNegInf);
  return out;
}

// Item (kv head h, selection index i) → its slot in SelectedLse's output.
float* Slot(const RetrievalContext& ctx, std::vector<std::vector<float>>& out, size_t h, size_t i) {
  const size_t served = ctx.LH == ctx.H ? 1 : ctx.H;
  const size_t s = ctx.SelectionHead(h), j = ctx.LH == ctx.H ? 0 : h;
  return &out[s][(i * served + j) * ctx.G];
}

}  // namespace

std::vector<std::vector<float>> SelectedLse(const RetrievalContext& ctx, const Selection& selected,
                                            const PlanItems& it, const float* lses) {
  std::vector<std::vector<float>> out = NoneAttended(ctx, selected);
  for (size_t i = 0; i < it.items.size(); ++i) {
    const PlanItem& item = it.items[i];
    if (item.selection >= 0) std::copy_n(lses + i * ctx.G, ctx.G, Slot(ctx, out, item.kv_head, size_t(item.selection)));
  }
  return out;
}

std::vector<std::vector<float>> SelectedLse(const RetrievalContext& ctx, const Selection& selected,
                                            const QueryPlan& plan, const float* item_lse) {
  std::vector<std::vector<float>> out = NoneAttended(ctx, selected);
  size_t i = 0;
  for (size_t h = 0; h < ctx.H; ++h) {
    ForEachItem(ctx, plan, selected[ctx.SelectionHead(h)], h, [&](const PlanItem& item, bool) {
      if (item.selection >= 0) std::copy_n(item_lse + i * ctx.G, ctx.G, Slot(ctx, out, h, size_t(item.selection)));
      ++i;
    });
  }
  return out;
}

void Explain(const RetrievalContext& ctx, const Selection& selected,
             const std::vector<std::vector<float>>& selected_lse, RetrievalResult& result) {
  const size_t LH = ctx.LH, H = ctx.H, G = ctx.G;
  for (size_t s = 0; s < LH; ++s) {
    SelectionExplanation& e = result.selections[s];
    e.chunks.reserve(selected[s].size());
    e.scores.reserve(selected[s].size());
    for (const ScoredChunk& c : selected[s]) {
      e.chunks.push_back(c.chunk);
      e.scores.push_back(c.score);
    }
    if (ctx.config.fusion == Fusion::kHsa) {
      e.weights = HsaWeights(selected[s], ctx.config.weights);
      continue;
    }
    // Joint: each chunk's share exp(lse_i - LSE), averaged over the heads it served.
    e.weights.assign(selected[s].size(), 0.0f);
    const size_t served = LH == H ? 1 : H;
    for (size_t i = 0; i < selected[s].size(); ++i) {
      for (size_t j = 0; j < served; ++j) {
        const size_t h = LH == H ? s : j;
        for (size_t g = 0; g < G; ++g) {
          const float total = result.lse[h * G + g];
          const float part = selected_lse[s][(i * served + j) * G + g];
          if (total != kNegInf) e.weights[i] += std::exp(part - total) / float(G * served);
        }
      }
    }
  }
}

}  // namespace landmark
