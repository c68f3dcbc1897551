// The tables of fields (fields.h): every option of every options struct,
// spelled once.
#include <cmath>
#include <string>
#include <type_traits>

#include "landmark/config.h"
#include "src/config/field_makers.h"
#include "src/config/enum_tables.h"
#include "src/prefill/option_ranges.h"

namespace landmark {
namespace {

using namespace field_makers;

constexpr double k2to32 = 4294967295.0;             // chunk ids are 32-bit
constexpr double k2to40 = 1099511627776.0;          // chunks: a store's limit
constexpr double k2to56 = 72057594037927936.0;      // tokens: past any store

constexpr Field<StoreOptions> kStore[] = {
    Count<StoreOptions>("model.kv_heads", "--kv-heads", "", 1, 4096, "kv heads H_kv",
                        [](auto& o) -> auto& { return o.shape.kv_heads; }),
    Count<StoreOptions>("model.head_dim", "--head-dim", "", 1, 16384, "head dim d",
                        [](auto& o) -> auto& { return o.shape.head_dim; }),
    Count<StoreOptions>("store.chunk_size", "--chunk-size", "", 1, 65536, "tokens per chunk S",
                        [](auto& o) -> auto& { return o.shape.chunk_size; }),
    Choice<StoreOptions, kDTypeNames>("store.dtype", "--dtype", "!init-weights random",
                                      "storage dtype of K, V and landmarks",
                                      [](auto& o) -> auto& { return o.shape.dtype; },
                                      [](std::string_view s) { return ParseDType(s, "dtype"); }),
    Choice<StoreOptions, kLandmarkKindNames>("store.landmark", "--landmark", "", "how a chunk's landmark is made",
                                             [](auto& o) -> auto& { return o.shape.landmark; },
                                             [](std::string_view s) { return ParseLandmarkKind(s); }),
    Count<StoreOptions>("store.landmark_heads", "--landmark-heads", "", 0, 4096,
                        "learned landmarks: retrieval heads (0: kv heads)",
                        [](auto& o) -> auto& { return o.shape.landmark_heads; }),
    Count<StoreOptions>("store.landmark_dim", "--landmark-dim", "", 0, 16384, "learned landmarks: dim R (0: head dim)",
                        [](auto& o) -> auto& { return o.shape.landmark_dim; }),
    Count<StoreOptions>("store.commit_every", "--commit-every", "", 0, k2to40,
                        "chunks between automatic commits (0: only explicit ones)",
                        [](auto& o) -> auto& { return o.commit_every; }),
    Bytes<StoreOptions>("store.segment_size", "--segment-size", "", "kv file roll-over size: bytes, or \"1G\", \"512M\"",
                        [](auto& o) -> auto& { return o.segment_bytes; }),
};

constexpr Field<HashingEncoderOptions> kEncoder[] = {
    Count<HashingEncoderOptions>("encoder.seed", "--seed", "ingest", 0, 18446744073709551615.0,
                                 "the hashing encoder's seed",
                                 [](auto& o) -> auto& { return o.seed; }),
    Real<HashingEncoderOptions>("encoder.bigram_weight", "--bigram-weight", "", -kNoMax, kNoMax,
                                "weight β of the word-pair term in keys",
                                [](auto& o) -> auto& { return o.bigram_weight; }),
};

constexpr Field<RetrieverConfig> kRetrieval[] = {
    Count<RetrieverConfig>("model.q_heads", "--q-heads", "", 0, 65536,
                           "query heads H_q, a multiple of the kv heads (0: as many as kv heads)",
                           [](auto& o) -> auto& { return o.q_heads; }),
    Count<RetrieverConfig>("retrieval.top_k", "--top-k", "!generate", 1, k2to32,
                           "chunks selected per kv head (k past the candidates selects them all)",
                           [](auto& o) -> auto& { return o.top_k; }),
    Choice<RetrieverConfig, kFusionNames>("retrieval.fusion", "--fusion", "",
                                          "joint: one softmax with the local term; hsa: weighted chunk outputs",
                                          [](auto& o) -> auto& { return o.fusion; },
                                          [](std::string_view s) { return ParseFusion(std::string(s)); }),
    Choice<RetrieverConfig, kRetrievalWeightsNames>("retrieval.weights", "--hsa-weights", "query",
                                                    "hsa fusion's chunk weights",
                                                    [](auto& o) -> auto& { return o.weights; },
                                                    [](std::string_view s) { return ParseRetrievalWeights(std::string(s)); }),
    Bool<RetrieverConfig>("retrieval.softmax_off_by_one", "--softmax1", "",
                          "an implicit zero logit inside each chunk (HSA's softmax1)",
                          [](auto& o) -> auto& { return o.softmax_off_by_one; }),
    Count<RetrieverConfig>("retrieval.window", "--window", "query", 0, k2to56, "local window W, tokens",
                           [](auto& o) -> auto& { return o.window; }),
    Count<RetrieverConfig>("retrieval.sink_chunks", "--sinks", "", 0, k2to40,
                           "joint fusion: the first chunks, always attended",
                           [](auto& o) -> auto& { return o.sink_chunks; }),
    Bool<RetrieverConfig>("retrieval.prefetch", "", "", "read the selected chunks ahead (madvise)",
                          [](auto& o) -> auto& { return o.prefetch; }),
    Choice<RetrieverConfig, kDeviceNames>("runtime.device", "--device", "",
                                          "where retrieval and prefill run (auto: the GPU if CUDA sees one)",
                                          [](auto& o) -> auto& { return o.device; },
                                          [](std::string_view s) { return ParseDevice(s); }),
};

constexpr Field<SparsePrefillOptions> kPrefill[] = {
    Choice<SparsePrefillOptions, kPrefillPolicyNames>("prefill.policy", "--policy", "", "the block mask policy",
                                                      [](auto& o) -> auto& { return o.policy; },
                                                      [](std::string_view s) { return ParsePrefillPolicy(s); }),
    Count<SparsePrefillOptions>("prefill.block", "--block", "", 1, 65536, "block size B, tokens (pooling and kernel tile)",
                                [](auto& o) -> auto& { return o.block; }),
    Choice<SparsePrefillOptions, kThresholdNames>(
        "prefill.flashprefill.threshold", "--threshold", "prefill",
        "delta: keep A ≥ max − delta; alpha: A > alpha·max + (1 − alpha)·min",
        [](auto& o) -> auto& { return o.flashprefill.threshold; },
        [](std::string_view s) { return ParseIn(kThresholdNames, s, "threshold"); }),
    Real<SparsePrefillOptions>(prefill::kDeltaRange.key, "--delta", "prefill", prefill::kDeltaRange.min, prefill::kDeltaRange.max,
                               "delta, in logit units", [](auto& o) -> auto& { return o.flashprefill.delta; }),
    Real<SparsePrefillOptions>(prefill::kAlphaRange.key, "--alpha", "prefill", prefill::kAlphaRange.min, prefill::kAlphaRange.max,
                               "alpha of alpha·max + (1 − alpha)·min",
                               [](auto& o) -> auto& { return o.flashprefill.alpha; }),
    Real<SparsePrefillOptions>(prefill::kVerticalFractionRange.key, "--vertical", "prefill",
                               prefill::kVerticalFractionRange.min, prefill::kVerticalFractionRange.max,
                               "vertical key blocks kept, a fraction of the blocks (0: none)",
                               [](auto& o) -> auto& { return o.flashprefill.vertical_fraction; }),
    Count<SparsePrefillOptions>("prefill.flashprefill.slash_count", "--slash", "prefill", 0, 1048576,
                                "slash diagonals kept", [](auto& o) -> auto& { return o.flashprefill.slash_count; }),
    Choice<SparsePrefillOptions, kImportanceNames>(
        "prefill.dma.importance", "--importance", "prefill",
        "key importance: vnorm (mean ‖v‖), qk (pooled q·k), learned (weights given to the call)",
        [](auto& o) -> auto& { return o.dma.importance; },
        [](std::string_view s) { return ParseIn(kImportanceNames, s, "importance"); }),
    Real<SparsePrefillOptions>(prefill::kSparsityRange.key, "--sparsity", "prefill", prefill::kSparsityRange.min,
                               prefill::kSparsityRange.max,
                               "share of the causal key blocks left out by importance",
                               [](auto& o) -> auto& { return o.dma.sparsity; }),
    Count<SparsePrefillOptions>("prefill.dma.window", "--window-blocks", "prefill", 0, k2to32,
                                "local window before the diagonal block, in blocks",
                                [](auto& o) -> auto& { return o.dma.window; }),
    Count<SparsePrefillOptions>("prefill.dma.stride", "--stride", "prefill", 0, k2to32,
                                "keep blocks j with (i − j) % stride = 0 (0: none)",
                                [](auto& o) -> auto& { return o.dma.stride; }),
    Count<SparsePrefillOptions>("prefill.dma.dilation", "--dilation", "prefill", 0, k2to32,
                                "keep blocks i − k·dilation, k = 1..dilated_count (0: none)",
                                [](auto& o) -> auto& { return o.dma.dilation; }),
    Count<SparsePrefillOptions>("prefill.dma.dilated_count", "--dilated-count", "prefill", 0, 1048576,
                                "blocks of the dilated pattern", [](auto& o) -> auto& { return o.dma.dilated_count; }),
    Choice<SparsePrefillOptions, kDeviceNames>("runtime.device", "--device", "",
                                               "where retrieval and prefill run (auto: the GPU if CUDA sees one)",
                                               [](auto& o) -> auto& { return o.device; },
                                          [](std::string_view s) { return ParseDevice(s); }),
};

constexpr Field<Config> kTextQuery[] = {
    Real<Config>("encoder.temperature", "--temperature", "query demo", 0, 1e6,
                 "text questions: the logit scale of a matching token",
                 [](auto& o) -> auto& { return o.temperature; }),
};

constexpr Field<Config> kRuntime[] = {
    Count<Config>("runtime.threads", "--threads", "", 0, 4096, "worker threads (0: all CPUs)",
                  [](auto& o) -> auto& { return o.threads; }),
};

}  // namespace

std::span<const Field<StoreOptions>> StoreFields() { return kStore; }
std::span<const Field<HashingEncoderOptions>> EncoderFields() { return kEncoder; }
std::span<const Field<RetrieverConfig>> RetrievalFields() { return kRetrieval; }
std::span<const Field<SparsePrefillOptions>> PrefillFields() { return kPrefill; }
std::span<const Field<Config>> TextQueryFields() { return kTextQuery; }
std::span<const Field<Config>> RuntimeFields() { return kRuntime; }

}  // namespace landmark
