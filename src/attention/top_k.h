// Top-k selection of chunk scores (FAISS Heap.h style): a min-heap of the k
// best (score, chunk) pairs, where "better" is the higher score and, on ties,
// the lower chunk id; NaN scores rank below every number. Partial heaps from
// parallel tasks merge into one.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

namespace landmark {

struct ScoredChunk {
  float score;
  uint32_t chunk;
};

// a ranks above b.
inline bool Better(const ScoredChunk& a, const ScoredChunk& b) {
  const bool a_nan = std::isnan(a.score), b_nan = std::isnan(b.score);
  if (a_nan != b_nan) return b_nan;
  if (!a_nan && a.score != b.score) return a.score > b.score;
  return a.chunk < b.chunk;
}

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

// The best k of scores[i] (chunk first + i), i < n, appended to `out` in
// any order; returns the k-th best score (a lower bound of the k-th best of
// any set holding these), or -inf when there are k or fewer, or a NaN.
// Linear with a small constant: a sample of the scores gives a threshold
// that about 2k of them pass, one pass keeps those, and a float selection
// among them finds the k-th score; ties go to the lower chunk id.
inline float AppendBest(const float* scores, size_t n, uint32_t first, size_t k, std::vector<float>& scratch,
                        std::vector<uint32_t>& candidates, std::vector<ScoredChunk>& out) {
  constexpr float kNone = -std::numeric_limits<float>::infinity();
  bool nan = false;
  for (size_t i = 0; i < n; ++i) nan |= std::isnan(scores[i]);
  if (n <= k || k == 0 || nan) {
    if (nan && n > k) {  // NaN ranks below every number: the heap knows how
      TopK top(k);
      top.PushRange(scores, n, first);
      out.insert(out.end(), top.items().begin(), top.items().end());
      return kNone;
    }
    for (size_t i = 0; i < n && k > 0; ++i) out.push_back({scores[i], first + uint32_t(i)});
    return kNone;
  }
  candidates.clear();
  const size_t stride = n / (4 * k);
  if (stride >= 2) {  // the sample's (2k / stride)-th best: about 2k scores reach it
    scratch.clear();
    for (size_t i = 0; i < n; i += stride) scratch.push_back(scores[i]);
    const size_t rank = std::max<size_t>(1, 2 * k / stride);
    std::nth_element(scratch.begin(), scratch.begin() + std::ptrdiff_t(rank - 1), scratch.end(), std::greater<float>());
    const float estimate = scratch[rank - 1];
    for (size_t i = 0; i < n; ++i) {
      if (scores[i] >= estimate) candidates.push_back(uint32_t(i));
    }
    if (candidates.size() < k) candidates.clear();  // too few reached it: take them all
  }
  if (candidates.empty()) {
    for (size_t i = 0; i < n; ++i) candidates.push_back(uint32_t(i));
  }
  scratch.clear();
  for (uint32_t i : candidates) scratch.push_back(scores[i]);
  std::nth_element(scratch.begin(), scratch.begin() + std::ptrdiff_t(k - 1), scratch.end(), std::greater<float>());
  const float kth = scratch[k - 1];
  size_t above = 0;
  for (uint32_t i : candidates) above += scores[i] > kth;
  size_t ties = k - above;  // ties to the lower chunk id: the first ones met
  for (uint32_t i : candidates) {
    if (scores[i] > kth || (scores[i] == kth && ties > 0 && ties--)) out.push_back({scores[i], first + i});
  }
  return kth;
}

// Keeps the best k of `items` (in any order), best first.
inline void KeepBest(std::vector<ScoredChunk>& items, size_t k) {
  if (items.size() > k) {
    std::nth_element(items.begin(), items.begin() + std::ptrdiff_t(k), items.end(), Better);
    items.resize(k);
  }
  std::sort(items.begin(), items.end(), Better);
}

}  // namespace landmark
