// Dense exact decode over every token of a store: the baseline the engine's
// speed is measured against ("dense exact attention on the same store").
#pragma once

#include <cstddef>

#include "landmark/store.h"

namespace landmark {

// q [q_heads][d] at the last position attends all store.tokens() keys.
// out [q_heads][d], lse [q_heads] (nullptr: not wanted).
void DenseDecodeOverStore(const StoreReader& store, const float* q, size_t q_heads, float* out, float* lse);

}  // namespace landmark
