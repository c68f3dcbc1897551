// splitmix64: a tiny seeded stream of 64-bit values, the same on every
// platform (synthetic data, random weights, haystacks).
#pragma once

#include <cstddef>
#include <cstdint>

namespace landmark {

struct SplitMix64 {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return size_t(Next() % n); }
  // Uniform in [-1, 1), from the top 53 bits.
  float Symmetric() { return float(double(Next() >> 11) * 0x1.0p-53 * 2.0 - 1.0); }
};

}  // namespace landmark
