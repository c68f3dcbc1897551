// The sparse prefill API: policy names, mask dispatch, and mask + kernel.

#include <chrono>
#include <string>

#include "landmark/error.h"
#include "landmark/prefill.h"

namespace landmark {

const char* Name(PrefillPolicy policy) {
  switch (policy) {
    case PrefillPolicy::kDense: return "dense";
    case PrefillPolicy::kFlashPrefill: return "flashprefill";
    case PrefillPolicy::kDma: return "dma";
  }
  return "?";
}

PrefillPolicy ParsePrefillPolicy(std::string_view name) {
  for (PrefillPolicy policy : {PrefillPolicy::kDense, PrefillPolicy::kFlashPrefill, PrefillPolicy::kDma}) {
    if (name == Name(policy)) return policy;
  }
  LANDMARK_THROW("unknown prefill policy '" + std::string(name) +
                 "' (expected dense, flashprefill or dma)");
}

BlockMask BuildMask(const float* q, size_t q_heads, const KVSequence& kv,
                    const SparsePrefillOptions& options) {
  switch (options.policy) {
    case PrefillPolicy::kFlashPrefill:
      return FlashPrefillMask(q, q_heads, kv, options.block, options.flashprefill);
    case PrefillPolicy::kDma: return DmaMask(q, q_heads, kv, options.block, options.dma);
    case PrefillPolicy::kDense: break;
  }
  return DenseMask(kv.tokens, kv.heads, options.block);
}

SparsePrefillResult SparsePrefill(const float* q, size_t q_heads, const KVSequence& kv, float* out,
                                  float* lse, const SparsePrefillOptions& options) {
  using Clock = std::chrono::steady_clock;
  SparsePrefillResult result;
  const auto start = Clock::now();
  result.mask = BuildMask(q, q_heads, kv, options);
  const auto built = Clock::now();
  PrefillOptions kernel;
  kernel.block = options.block;
  // Dense runs without a mask: the kernel then skips reading one.
  kernel.block_mask = options.policy == PrefillPolicy::kDense ? nullptr : result.mask.bits.data();
  CausalPrefill(q, q_heads, kv, out, lse, kernel);
  result.mask_seconds = std::chrono::duration<double>(built - start).count();
  result.attention_seconds = std::chrono::duration<double>(Clock::now() - built).count();
  return result;
}

}  // namespace landmark
