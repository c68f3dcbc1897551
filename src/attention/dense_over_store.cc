#include "src/attention/dense_over_store.h"

#include <algorithm>
#include <vector>

#include "src/kernels/dense_attention.h"
#include "landmark/error.h"
#include "src/kernels/kernels.h"
#include "src/store/format.h"

namespace landmark {

void DenseDecodeOverStore(const StoreReader& store, const float* q, size_t q_heads, float* out, float* lse) {
  const StoreShape& s = store.shape();
  const StoreInfo& info = store.info();
  LANDMARK_CHECK_ARG(q_heads % s.kv_heads == 0, "dense decode: query heads must be a multiple of kv heads");
  const size_t b = SizeOf(s.dtype), record = s.record_bytes() / b, S = s.chunk_size, d = s.head_dim;
  const size_t per_segment = store::ChunksPerSegment(s, info.segment_bytes);
  // One paged sequence per kv segment (records [chunk][head][K S×d | V S×d]),
  // and the tail ([head][K t×d | V t×d]); partial results merged by LSE.
  std::vector<KVSequence> parts;
  for (size_t first = 0; first < store.chunks(); first += per_segment) {
    const size_t chunks = std::min(per_segment, store.chunks() - first);
    const ChunkKV base = store.chunk(first, 0);
    parts.push_back({base.keys, base.values, s.dtype, chunks * S, s.kv_heads, d, d, record, S, s.kv_heads * record});
  }
  if (info.tail_tokens) {
    const ChunkKV tail = store.chunk(store.chunks(), 0);
    parts.push_back({tail.keys, tail.values, s.dtype, info.tail_tokens, s.kv_heads, d, d, 2 * info.tail_tokens * d, 0, 0});
  }
  std::vector<float> outs(parts.size() * q_heads * d), lses(parts.size() * q_heads);
  for (size_t i = 0; i < parts.size(); ++i) {
    DenseDecode(q, q_heads, parts[i], outs.data() + i * q_heads * d, lses.data() + i * q_heads);
  }
  std::vector<float> merged_lse(q_heads);
  MergeByLse(outs.data(), lses.data(), parts.size(), q_heads, d, out, merged_lse.data());
  if (lse) std::copy(merged_lse.begin(), merged_lse.end(), lse);
}

}  // namespace landmark
