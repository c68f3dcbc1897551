// Top-k selection of chunk scores (FAISS Heap.h style): a min-heap of the k
// best (score, chunk) pairs, where "better" is the higher score and, on ties,
// the lower chunk id; NaN scores rank below every number. Partial heaps from
// parallel tasks merge into one.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

#include "src/kernels/kernels.h"

namespace landmark {

struct ScoredChunk {
  float score;
  uint32_t chunk;
};

// The rank of an item as one integer, higher = better: the score's bits
// mapped to an unsigned order (-0 taken as +0, every NaN to 0, below
// -inf), then the chunk id inverted so that ties go to the lower chunk.
// Comparing two keys costs no branch (the top-k sorts are compare-bound).
inline uint64_t RankKey(const ScoredChunk& c) {
  uint32_t u;
  const float s = c.score + 0.0f;  // -0 + 0 = +0
  std::memcpy(&u, &s, sizeof u);
  const bool nan = (u & 0x7fffffffu) > 0x7f800000u;
  const uint32_t order = (u & 0x80000000u) ? ~u : (u | 0x80000000u);  // -inf maps to 0x007fffff
  return (uint64_t(nan ? 0u : order) << 32) | uint32_t(~c.chunk);
}

// a ranks above b: the higher score, NaN below every number, ties to the
// lower chunk id.
inline bool Better(const ScoredChunk& a, const ScoredChunk& b) { return RankKey(a) > RankKey(b); }

class TopK {
 public:
  // Memory grows with what is pushed: a k far past the candidates (which
  // selects them all) reserves nothing for the chunks that do not exist.
  explicit TopK(size_t k) : k_(k) { heap_.reserve(std::min<size_t>(k, 1024)); }

  void Push(float score, uint32_t chunk) {
    const ScoredChunk item{score, chunk};
    if (heap_.size() < k_) {
      heap_.push_back(item);
      std::push_heap(heap_.begin(), heap_.end(), Better);  // the worst on top
    } else if (k_ > 0 && Better(item, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), Better);
      heap_.back() = item;
      std::push_heap(heap_.begin(), heap_.end(), Better);
    }
  }

  // Pushes scores[i] for chunk first + i. Once the heap is full, a score
  // below its worst is rejected by one comparison (chunk ids rise within
  // the range, so an equal score never displaces the worst).
  void PushRange(const float* scores, size_t count, uint32_t first) {
    size_t i = 0;
    for (; i < count && heap_.size() < k_; ++i) Push(scores[i], first + uint32_t(i));
    if (k_ == 0) return;
    float worst = heap_.front().score;
    for (; i < count; ++i) {
      if (!(scores[i] > worst) && !std::isnan(worst)) continue;  // NaN: any number beats it
      Push(scores[i], first + uint32_t(i));
      worst = heap_.front().score;
    }
  }

  void Merge(const TopK& other) {
    for (const ScoredChunk& item : other.heap_) Push(item.score, item.chunk);
  }

  // Best first.
  std::vector<ScoredChunk> Sorted() const {
    std::vector<ScoredChunk> out = heap_;
    std::sort(out.begin(), out.end(), Better);
    return out;
  }

  size_t size() const { return heap_.size(); }
  const std::vector<ScoredChunk>& items() const { return heap_; }  // unordered

 private:
  size_t k_;
  std::vector<ScoredChunk> heap_;
};

// Keeps the best k of `items` (in any order), best first. The items are
// compared through their rank keys, computed once: one integer compare each.
inline void KeepBest(std::vector<ScoredChunk>& items, size_t k) {
  struct Keyed {
    uint64_t key;
    float score;  // as given (the key folds -0 and NaN payloads)
  };
  std::vector<Keyed> keyed(items.size());
  for (size_t i = 0; i < items.size(); ++i) keyed[i] = {RankKey(items[i]), items[i].score};
  const auto higher = [](const Keyed& a, const Keyed& b) { return a.key > b.key; };
  if (keyed.size() > k) {
    std::nth_element(keyed.begin(), keyed.begin() + std::ptrdiff_t(k), keyed.end(), higher);
    keyed.resize(k);
  }
  std::sort(keyed.begin(), keyed.end(), higher);
  items.resize(keyed.size());
  for (size_t i = 0; i < keyed.size(); ++i) items[i] = {keyed[i].score, ~uint32_t(keyed[i].key)};
}

// Selection from all the scores in three steps, so that no step grows with
// the number of tasks that scored them: a sample of the scores gives a
// threshold that a few k of them reach (SampleThreshold), one pass keeps
// the scores that reach it (AppendAtLeast), and the k best of those are the
// k best of all whenever at least k reached it (BestOfCandidates).

// Which scores to sample: every stride-th of n, and the rank in the sample
// that makes the threshold. With s samples, about λ = k·s/n of them fall
// among the k best; the rank λ + 4√λ + 3 is above that count but with a
// chance under 1e-4 (Poisson tails), and about rank·n/s scores reach it.
// stride 0: n is too small to sample; keep everything.
struct SamplePlan {
  size_t stride = 0, rank = 0;
};
inline SamplePlan PlanSample(size_t n, size_t k) {
  const size_t samples = std::max<size_t>(512, n / 64);
  if (k == 0 || n < 4 * samples || n < 16 * k) return {};
  const size_t stride = n / samples;
  const double lambda = double(k) * double(samples) / double(n);
  return {stride, size_t(std::ceil(lambda + 4.0 * std::sqrt(lambda) + 3.0))};
}

// The rank-th best of the sampled scores, NaNs left out (the sample is
// reordered); -inf (keep everything) when fewer than rank are numbers.
inline float SampleThreshold(std::vector<float>& sample, size_t rank) {
  sample.erase(std::remove_if(sample.begin(), sample.end(), [](float x) { return std::isnan(x); }), sample.end());
  if (rank == 0 || sample.size() < rank) return -std::numeric_limits<float>::infinity();
  std::nth_element(sample.begin(), sample.begin() + std::ptrdiff_t(rank - 1), sample.end(), std::greater<float>());
  return sample[rank - 1];
}

// Appends {scores[i], first + i} for every scores[i] >= threshold (every
// score, NaN included, when the threshold is -inf), in order of i. The
// filter is a vector compare per few scores (IndicesAtLeast); nearly all
// are below it.
inline void AppendAtLeast(const float* scores, size_t n, uint32_t first, float threshold,
                          std::vector<ScoredChunk>& out) {
  if (threshold == -std::numeric_limits<float>::infinity()) {
    for (size_t i = 0; i < n; ++i) out.push_back({scores[i], first + uint32_t(i)});
    return;
  }
  thread_local std::vector<uint32_t> reached;
  if (reached.size() < n) reached.resize(n);
  const size_t count = IndicesAtLeast(scores, n, threshold, reached.data());
  out.reserve(out.size() + count);
  for (size_t j = 0; j < count; ++j) out.push_back({scores[reached[j]], first + reached[j]});
}

// The k best of scores[0, n) (chunk first + i), best first, from the
// candidates AppendAtLeast kept: exact when at least k of them are there
// (the k-th best then reaches the threshold, so every one of the k best
// is a candidate), else one heap over all the scores.
inline std::vector<ScoredChunk> BestOfCandidates(std::vector<ScoredChunk> candidates, const float* scores, size_t n,
                                                 uint32_t first, size_t k) {
  if (candidates.size() < std::min(k, n)) {
    TopK top(k);
    top.PushRange(scores, n, first);
    return top.Sorted();
  }
  KeepBest(candidates, k);
  return candidates;
}

}  // namespace landmark
