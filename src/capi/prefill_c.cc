// C API: block-sparse causal prefill under a mask policy.
#include <cstdint>

#include "landmark/error.h"
#include "landmark/prefill.h"
#include "src/capi/capi.h"

using namespace landmark;
using namespace landmark::capi;

namespace landmark::capi {
namespace {

// The C options from the prefill's (the fields the struct holds).
void ToC(const SparsePrefillOptions& p, landmark_prefill_options& o) {
  o.policy = landmark_prefill_policy(int(p.policy));
  o.block = p.block;
  o.threshold_alpha = p.flashprefill.threshold == FlashPrefillOptions::Threshold::kAlpha;
  o.delta = p.flashprefill.delta;
  o.alpha = p.flashprefill.alpha;
  o.vertical_fraction = p.flashprefill.vertical_fraction;
  o.slash_count = p.flashprefill.slash_count;
  o.importance = int(p.dma.importance);
  o.sparsity = p.dma.sparsity;
  o.window = p.dma.window;
  o.stride = p.dma.stride;
  o.dilation = p.dma.dilation;
  o.dilated_count = p.dma.dilated_count;
  o.device = capi::ToC(p.device);
}

// The prefill's options from the C ones (enums checked; not the weights).
SparsePrefillOptions OptionsOf(const landmark_prefill_options& o) {
  const int policy = Raw(o.policy);
  if (policy < LANDMARK_PREFILL_DENSE || policy > LANDMARK_PREFILL_DMA) {
    Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "options.policy: unknown policy " + std::to_string(policy));
  }
  if (o.importance < 0 || o.importance > 2) {
    Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "options.importance must be 0 (vnorm), 1 (qk) or 2 (learned)");
  }
  SparsePrefillOptions p;
  p.policy = PrefillPolicy(policy);
  p.block = o.block;
  p.flashprefill.threshold =
      o.threshold_alpha ? FlashPrefillOptions::Threshold::kAlpha : FlashPrefillOptions::Threshold::kDelta;
  p.flashprefill.delta = o.delta;
  p.flashprefill.alpha = o.alpha;
  p.flashprefill.vertical_fraction = o.vertical_fraction;
  p.flashprefill.slash_count = o.slash_count;
  p.dma.importance = DmaOptions::Importance(o.importance);
  p.dma.sparsity = o.sparsity;
  p.dma.window = o.window;
  p.dma.stride = o.stride;
  p.dma.dilation = o.dilation;
  p.dma.dilated_count = o.dilated_count;
  p.device = DeviceFromC(Raw(o.device), "options.device");
  return p;
}

bool SetPrefillOption(landmark_prefill_options& o, std::string_view key, const std::string& value, bool must_exist) {
  SparsePrefillOptions p = OptionsOf(o);
  if (!SetOption(key, value, must_exist, FieldTarget<SparsePrefillOptions>{PrefillFields(), p})) return false;
  ToC(p, o);
  return true;
}

}  // namespace
}  // namespace landmark::capi

extern "C" {

void landmark_prefill_options_init(landmark_prefill_options* options) {
  if (!options) return;
  *options = landmark_prefill_options{};
  options->struct_size = sizeof(*options);
  ToC(SparsePrefillOptions(), *options);
}

landmark_status landmark_prefill_options_set(landmark_prefill_options* options, const char* key, const char* value) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    SetPrefillOption(MutableOptions(options, "options"), Str(key, "key"), Str(value, "value"), true);
  });
}

landmark_status landmark_config_prefill_options(const landmark_config* config, landmark_prefill_options* options) {
  return Guard(LANDMARK_ERROR_CONFIG, [&] {
    const auto object = Get<ConfigObject>(config, "config");
    landmark_prefill_options& o = MutableOptions(options, "options");
    for (const auto& [key, value] : object->config.values) SetPrefillOption(o, key, value, false);
  });
}

landmark_status landmark_prefill(const float* q, size_t tokens, size_t q_heads, size_t head_dim, const void* k,
                                 const void* v, landmark_dtype kv_dtype, size_t kv_heads,
                                 const landmark_prefill_options* options, float* out, size_t out_elements, float* lse,
                                 size_t lse_elements, uint8_t* mask, size_t mask_elements,
                                 landmark_prefill_stats* stats) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    const landmark_prefill_options& o = Options(options, "options");
    auto bad = [](const std::string& m) { Fail(LANDMARK_ERROR_INVALID_ARGUMENT, m); };
    if (tokens > 0) {
      NotNull(q, "q");
      NotNull(k, "k");
      NotNull(v, "v");
      NotNull(out, "out");
    }
    if (q_heads == 0 || kv_heads == 0 || head_dim == 0 || q_heads % kv_heads != 0) {
      bad("query heads (" + std::to_string(q_heads) + ") must be a positive multiple of kv heads (" +
          std::to_string(kv_heads) + "), head_dim (" + std::to_string(head_dim) + ") > 0");
    }
    if (o.block == 0) bad("options.block must be > 0");
    SparsePrefillOptions p = OptionsOf(o);
    const DType dtype = DTypeFromC(Raw(kv_dtype), "kv_dtype");
    const size_t nb = tokens / o.block + (tokens % o.block != 0);
    auto expect = [&](size_t given, size_t expected, const char* what) {
      if (given != expected) {
        bad(std::string(what) + " has " + std::to_string(given) + " elements, expected " + std::to_string(expected));
      }
    };
    expect(out_elements, Elements(tokens, q_heads, head_dim, "out"), "out [tokens][q_heads][head_dim]");
    Elements(tokens, kv_heads, head_dim, "k");
    if (lse) expect(lse_elements, Elements(tokens, q_heads, 1, "lse"), "lse [tokens][q_heads]");
    if (mask) expect(mask_elements, Elements(kv_heads, nb, nb, "mask"), "mask [kv_heads][blocks][blocks]");
    if (p.dma.importance == DmaOptions::Importance::kLearned) {
      NotNull(o.dma_weights, "options.dma_weights");
      expect(o.dma_weights_elements, kv_heads * head_dim, "options.dma_weights [kv_heads][head_dim]");
      p.dma.weights.assign(o.dma_weights, o.dma_weights + o.dma_weights_elements);
    }
    const auto arena = ArenaOf(o.arena);
    SparsePrefillResult r;
    InArena(arena, [&] {
      const KVSequence kv = KVSequence::TokenMajor(k, v, dtype, tokens, kv_heads, head_dim);
      r = SparsePrefill(q, q_heads, kv, out, lse, p);
    });
    if (mask) std::copy(r.mask.bits.begin(), r.mask.bits.end(), mask);
    if (stats) {
      *stats = landmark_prefill_stats{r.mask.blocks, r.mask.SelectedBlocks(), r.mask.Density(), r.mask_seconds,
                                      r.attention_seconds};
    }
  });
}

}  // extern "C"
