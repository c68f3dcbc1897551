// The retrieval engine's math in double precision, written from docs/design.md
// with plain loops over the whole context (no code shared with the engine).
#pragma once

#include <cstddef>
#include <vector>

namespace landmark::reference {

struct RetrievalSpec {
  size_t S = 64, k = 64, window = 0, sinks = 0;
  bool joint = true, stickbreaking = false, softmax1 = false, minmax = false;
  bool local = true;  // joint: the local term in the softmax; hsa: returned separately
};

struct RetrievalOutput {
  std::vector<double> out, lse, local_out, local_lse;  // [Hq][d], [Hq]
  std::vector<std::vector<size_t>> selected;           // per selection head, best first
  std::vector<std::vector<double>> scores;             // all candidate scores per selection head
};

// K, V: [n][H][d] (n = visible context, at least p + 1 tokens); landmarks:
// [C][LH][values] for complete chunks; q: [Hq][d]; r: [LH][R].
RetrievalOutput Retrieve(const std::vector<double>& K, const std::vector<double>& V, size_t n, size_t H, size_t d,
                         const std::vector<double>& landmarks, size_t LH, size_t R, const std::vector<double>& q,
                         size_t Hq, const std::vector<double>& r, size_t p, const RetrievalSpec& spec);

}  // namespace landmark::reference
