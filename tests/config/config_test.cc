// Presets: the shipped files load with the values they state; every key
// lands in its field; unknown keys, sections and bad values are refused
// naming the file, the line and the key.
#include <doctest/doctest.h>

#include <string>

#include "landmark/config.h"
#include "landmark/error.h"

namespace landmark {
namespace {

const std::string kConfigs = LANDMARK_SOURCE_DIR "/configs/";

std::string ErrorOf(const std::string& toml) {
  try {
    ParseConfig(toml, "t.toml");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST_CASE("config: the shipped presets") {
  const Config demo = LoadConfig(kConfigs + "demo.toml");
  CHECK(demo.encoder.head_dim == 512);
  CHECK(demo.store.shape.head_dim == 512);
  CHECK(demo.retriever.top_k == 64);

  const Config llama = LoadConfig(kConfigs + "llama3-8b.toml");
  CHECK(llama.retriever.q_heads == 32);
  CHECK(llama.store.shape.kv_heads == 8);
  CHECK(llama.store.shape.head_dim == 128);
  CHECK(llama.store.shape.dtype == DType::kBF16);
  CHECK(llama.retriever.window == 512);
  CHECK(llama.retriever.sink_chunks == 1);
  CHECK(llama.prefill.policy == PrefillPolicy::kFlashPrefill);
  CHECK(llama.prefill.flashprefill.delta == 5.0f);

  const Config hsa = LoadConfig(kConfigs + "hsa.toml");
  CHECK(hsa.store.shape.landmark == LandmarkKind::kLearned);
  CHECK(hsa.retriever.fusion == Fusion::kHsa);
  CHECK(hsa.retriever.weights == RetrievalWeights::kStickBreaking);
  CHECK(hsa.retriever.softmax_off_by_one);
  CHECK(hsa.prefill.policy == PrefillPolicy::kDma);
  CHECK(hsa.prefill.dma.importance == DmaOptions::Importance::kPooledQK);
  for (const char* name : {"demo.toml", "llama3-8b.toml", "hsa.toml"}) {
    Config c = LoadConfig(kConfigs + name);
    CHECK_NOTHROW(c.store.shape.Validate());
  }
}

TEST_CASE("config: every key, and what the CLI sees") {
  const Config c = ParseConfig(R"(
[model]
q_heads = 12
kv_heads = 3
head_dim = 40
[store]
chunk_size = 32
dtype = "f32"
landmark = "minmax"
commit_every = 7
segment_size = "64M"
[encoder]
seed = 99
bigram_weight = 0.25
temperature = 8
[retrieval]
top_k = 5
fusion = "hsa"
weights = "stickbreaking"
softmax_off_by_one = true
window = 100
sink_chunks = 2
prefetch = false
[prefill]
policy = "dma"
block = 128
[prefill.flashprefill]
threshold = "alpha"
delta = 3.5
alpha = 0.2
vertical_fraction = 0.05
slash_count = 6
[prefill.dma]
importance = "qk"
sparsity = 0.75
window = 3
stride = 4
dilation = 2
dilated_count = 5
[runtime]
threads = 3
device = "cpu"
)",
                               "all.toml");
  CHECK(c.retriever.q_heads == 12);
  CHECK(c.store.shape.kv_heads == 3);
  CHECK(c.encoder.kv_heads == 3);
  CHECK(c.encoder.head_dim == 40);
  CHECK(c.store.shape.chunk_size == 32);
  CHECK(c.store.shape.dtype == DType::kF32);
  CHECK(c.store.shape.landmark == LandmarkKind::kMinMax);
  CHECK(c.store.commit_every == 7);
  CHECK(c.store.segment_bytes == (size_t(64) << 20));
  CHECK(c.encoder.seed == 99);
  CHECK(c.encoder.bigram_weight == 0.25f);
  CHECK(c.temperature == 8.0f);
  CHECK(c.retriever.top_k == 5);
  CHECK(c.retriever.fusion == Fusion::kHsa);
  CHECK(c.retriever.softmax_off_by_one);
  CHECK(c.retriever.window == 100);
  CHECK(c.retriever.sink_chunks == 2);
  CHECK_FALSE(c.retriever.prefetch);
  CHECK(c.prefill.block == 128);
  CHECK(c.prefill.flashprefill.threshold == FlashPrefillOptions::Threshold::kAlpha);
  CHECK(c.prefill.flashprefill.delta == 3.5f);
  CHECK(c.prefill.flashprefill.vertical_fraction == 0.05);
  CHECK(c.prefill.flashprefill.slash_count == 6);
  CHECK(c.prefill.dma.sparsity == 0.75);
  CHECK(c.prefill.dma.window == 3);
  CHECK(c.prefill.dma.stride == 4);
  CHECK(c.prefill.dma.dilation == 2);
  CHECK(c.prefill.dma.dilated_count == 5);
  CHECK(c.threads == 3);
  CHECK(c.retriever.device == Device::kCpu);
  CHECK(c.prefill.device == Device::kCpu);
  CHECK(c.values.size() == 33);
  CHECK(c.values.at("retrieval.softmax_off_by_one") == "true");
  CHECK(c.values.at("encoder.temperature") == "8");
  CHECK(c.values.at("store.segment_size") == "64M");
  CHECK(ParseConfig("[store]\nsegment_size = 4096\n", "b.toml").store.segment_bytes == 4096);
  CHECK(ParseConfig("", "empty.toml").values.empty());
}

TEST_CASE("config: mistakes name the file, section and key") {
  CHECK(ErrorOf("[retrieval]\ntop_k = 4\ntopk = 3\n") ==
        "t.toml: [retrieval].topk: unknown key (expected one of: top_k, fusion, weights, softmax_off_by_one, window, "
        "sink_chunks, prefetch)");
  CHECK(ErrorOf("top_k = 3\n").find("t.toml: unknown section or key 'top_k' (expected [model], [store]") == 0);
  CHECK(ErrorOf("[retriever]\ntop_k = 3\n").find("unknown section or key 'retriever'") != std::string::npos);
  CHECK(ErrorOf("[prefill.flash]\ndelta = 3\n").find("[prefill].flash: unknown key") != std::string::npos);
  CHECK(ErrorOf("[prefill]\ndma = 3\n") == "t.toml: [prefill].dma: expected a [prefill.dma] table");
  CHECK(ErrorOf("[model]\nkv_heads = -1\n") == "t.toml: [model].kv_heads: must not be negative");
  CHECK(ErrorOf("[model]\nkv_heads = 2.5\n") == "t.toml: [model].kv_heads: expected an integer");
  CHECK(ErrorOf("[retrieval]\nsoftmax_off_by_one = 1\n") == "t.toml: [retrieval].softmax_off_by_one: expected true or false");
  CHECK(ErrorOf("[retrieval]\nfusion = 1\n") == "t.toml: [retrieval].fusion: expected a string");
  CHECK(ErrorOf("[retrieval]\nfusion = \"mixed\"\n").find("t.toml: [retrieval].fusion: ") == 0);
  CHECK(ErrorOf("[store]\ndtype = \"f64\"\n").find("t.toml: [store].dtype: ") == 0);
  CHECK(ErrorOf("[store]\nsegment_size = \"lots\"\n").find("cannot read 'lots' as a size") != std::string::npos);
  CHECK(ErrorOf("[store]\nsegment_size = 0\n") == "t.toml: [store].segment_size: must be > 0");
  CHECK(ErrorOf("[prefill]\npolicy = \"sparse\"\n").find("unknown prefill policy 'sparse'") != std::string::npos);
  CHECK(ErrorOf("[prefill.dma]\nimportance = \"learned\"\n").find("[prefill.dma].importance: ") != std::string::npos);
  CHECK(ErrorOf("[model\n").find("t.toml:1: ") == 0);
  CHECK(ErrorOf("[runtime]\ndevice = \"gpu\"\n").find("t.toml: [runtime].device: ") == 0);
  CHECK(ErrorOf("[encoder]\nbigram_weight = nan\n") == "t.toml: [encoder].bigram_weight: expected a finite number");
  CHECK_THROWS_WITH_AS(LoadConfig("/nonexistent/x.toml"), "/nonexistent/x.toml: cannot open the config file", Error);
  // The cross-decoder's section is its reader's business; its [retrieval] keys are ours.
  const Config cross = LoadConfig(kConfigs + "cross-decoder-16x2048.toml");
  CHECK(cross.retriever.top_k == 64);
}

TEST_CASE("config: byte sizes") {
  CHECK(ParseByteSize("4096", "s") == 4096);
  CHECK(ParseByteSize("512K", "s") == 512u * 1024);
  CHECK(ParseByteSize("1G", "s") == size_t(1) << 30);
  CHECK(ParseByteSize("1.5M", "s") == size_t(3) << 19);
  CHECK_THROWS_WITH_AS(ParseByteSize("0", "--segment-size"), "--segment-size: cannot read '0' as a size (e.g. 1G, 512M)",
                       Error);
  CHECK_THROWS_AS(ParseByteSize("1T", "s"), Error);
}

}  // namespace
}  // namespace landmark
