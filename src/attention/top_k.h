// Top-k selection of chunk scores (FAISS Heap.h style): a min-heap of the k
// best (score, chunk) pairs, where "better" is the higher score and, on ties,
// the lower chunk id; NaN scores rank below every number. Partial heaps from
// parallel tasks merge into one.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
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

 private:
  size_t k_;
  std::vector<ScoredChunk> heap_;
};

}  // namespace landmark
