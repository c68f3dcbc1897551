// Presets read with toml++ through the strict section reader
// (src/core/toml_reader.h): every key typed and known, each one the file
// sets also recorded as command-line text for `--config`.
#include "landmark/config.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "landmark/error.h"
#include "src/core/toml_reader.h"

namespace landmark {
namespace {

// A section whose reads also record "section.key" -> the value as text.
class Section {
 public:
  Section(const toml::table* table, const std::string& source, const std::string& name,
          std::vector<std::string> keys, Config& config)
      : s_(table, source, name, std::move(keys)), name_(name), config_(config) {}

  size_t Count(const std::string& key, size_t fallback) { return Record(key, s_.UInt(key, fallback)); }
  double Number(const std::string& key, double fallback) {
    const double value = s_.Number(key, fallback);
    if (!std::isfinite(value)) s_.Fail(key, "expected a finite number");
    return Record(key, value);
  }
  bool Bool(const std::string& key, bool fallback) { return Record(key, s_.Bool(key, fallback)); }
  std::string Text(const std::string& key, const std::string& fallback) { return Record(key, s_.String(key, fallback)); }
  // A value a library parser checks: its error names the key.
  template <class Parse>
  auto Parsed(const std::string& key, const std::string& fallback, Parse parse) {
    const std::string text = Text(key, fallback);
    try {
      return parse(text);
    } catch (const Error& e) {
      s_.Fail(key, e.what());
    }
  }
  // A [section.sub] table inside this one (absent: null).
  const toml::table* Table(const std::string& key) {
    const toml::node* n = s_.Node(key);
    if (n && !n->is_table()) s_.Fail(key, "expected a [" + name_ + "." + key + "] table");
    return n ? n->as_table() : nullptr;
  }
  TomlSection& reader() { return s_; }

 private:
  template <class T>
  T Record(const std::string& key, T value) {
    if (!s_.Has(key)) return value;
    std::string text;
    if constexpr (std::is_same_v<T, bool>) {
      text = value ? "true" : "false";
    } else if constexpr (std::is_same_v<T, std::string>) {
      text = value;
    } else {  // the shortest text that reads back as the same number
      char buffer[64];
      text.assign(buffer, std::to_chars(buffer, buffer + sizeof(buffer), value).ptr);
    }
    config_.values[name_ + "." + key] = text;
    return value;
  }

  TomlSection s_;
  std::string name_;
  Config& config_;
};

}  // namespace

Config ParseConfig(std::string_view text, const std::string& source) {
  // [cross_decoder] belongs to the cross-decoder's own reader (LoadCrossDecoderConfig).
  const toml::table root = ParseToml(std::string(text), source,
                                     {"model", "store", "encoder", "retrieval", "prefill", "runtime", "cross_decoder"});
  auto table = [&](const char* name) { return root[name].as_table(); };
  Config c;
  c.source = source;

  Section model(table("model"), source, "model", {"q_heads", "kv_heads", "head_dim"}, c);
  c.retriever.q_heads = model.Count("q_heads", c.retriever.q_heads);
  c.store.shape.kv_heads = c.encoder.kv_heads = model.Count("kv_heads", c.store.shape.kv_heads);
  c.store.shape.head_dim = c.encoder.head_dim = model.Count("head_dim", c.store.shape.head_dim);

  Section store(table("store"), source, "store",
                {"chunk_size", "dtype", "landmark", "landmark_heads", "landmark_dim", "commit_every", "segment_size"}, c);
  StoreShape& shape = c.store.shape;
  shape.chunk_size = store.Count("chunk_size", shape.chunk_size);
  shape.dtype = store.Parsed("dtype", Name(shape.dtype), [](const std::string& t) { return ParseDType(t, "dtype"); });
  shape.landmark = store.Parsed("landmark", Name(shape.landmark), [](const std::string& t) { return ParseLandmarkKind(t); });
  shape.landmark_heads = store.Count("landmark_heads", shape.landmark_heads);
  shape.landmark_dim = store.Count("landmark_dim", shape.landmark_dim);
  c.store.commit_every = store.Count("commit_every", c.store.commit_every);
  if (const toml::node* n = store.reader().Node("segment_size"); n && n->is_integer()) {
    c.store.segment_bytes = store.Count("segment_size", 0);  // bytes
    if (c.store.segment_bytes == 0) store.reader().Fail("segment_size", "must be > 0");
  } else if (n) {
    c.store.segment_bytes = store.Parsed("segment_size", "", [](const std::string& t) { return ParseByteSize(t, "size"); });
  }

  Section encoder(table("encoder"), source, "encoder", {"seed", "bigram_weight", "temperature"}, c);
  c.encoder.seed = encoder.Count("seed", c.encoder.seed);
  c.encoder.bigram_weight = float(encoder.Number("bigram_weight", c.encoder.bigram_weight));
  c.temperature = float(encoder.Number("temperature", c.temperature));

  Section retrieval(table("retrieval"), source, "retrieval",
                    {"top_k", "fusion", "weights", "softmax_off_by_one", "window", "sink_chunks", "prefetch"}, c);
  RetrieverConfig& r = c.retriever;
  r.top_k = retrieval.Count("top_k", r.top_k);
  r.fusion = retrieval.Parsed("fusion", Name(r.fusion), [](const std::string& t) { return ParseFusion(t); });
  r.weights = retrieval.Parsed("weights", Name(r.weights), [](const std::string& t) { return ParseRetrievalWeights(t); });
  r.softmax_off_by_one = retrieval.Bool("softmax_off_by_one", r.softmax_off_by_one);
  r.window = retrieval.Count("window", r.window);
  r.sink_chunks = retrieval.Count("sink_chunks", r.sink_chunks);
  r.prefetch = retrieval.Bool("prefetch", r.prefetch);

  Section prefill(table("prefill"), source, "prefill", {"policy", "block", "flashprefill", "dma"}, c);
  SparsePrefillOptions& p = c.prefill;
  p.policy = prefill.Parsed("policy", Name(p.policy), [](const std::string& t) { return ParsePrefillPolicy(t); });
  p.block = prefill.Count("block", p.block);
  Section fp(prefill.Table("flashprefill"), source, "prefill.flashprefill",
             {"threshold", "delta", "alpha", "vertical_fraction", "slash_count"}, c);
  FlashPrefillOptions& f = p.flashprefill;
  f.threshold = fp.Parsed("threshold", "delta", [](const std::string& t) {
    LANDMARK_CHECK_ARG(t == "delta" || t == "alpha", "expected delta or alpha, got '" + t + "'");
    return t == "alpha" ? FlashPrefillOptions::Threshold::kAlpha : FlashPrefillOptions::Threshold::kDelta;
  });
  f.delta = float(fp.Number("delta", f.delta));
  f.alpha = float(fp.Number("alpha", f.alpha));
  f.vertical_fraction = fp.Number("vertical_fraction", f.vertical_fraction);
  f.slash_count = fp.Count("slash_count", f.slash_count);
  Section dma(prefill.Table("dma"), source, "prefill.dma",
              {"importance", "sparsity", "window", "stride", "dilation", "dilated_count"}, c);
  DmaOptions& m = p.dma;
  m.importance = dma.Parsed("importance", "vnorm", [](const std::string& t) {
    LANDMARK_CHECK_ARG(t == "vnorm" || t == "qk",
                       "expected vnorm or qk, got '" + t + "' (learned weights are given to the prefill call)");
    return t == "qk" ? DmaOptions::Importance::kPooledQK : DmaOptions::Importance::kValueNorm;
  });
  m.sparsity = dma.Number("sparsity", m.sparsity);
  m.window = dma.Count("window", m.window);
  m.stride = dma.Count("stride", m.stride);
  m.dilation = dma.Count("dilation", m.dilation);
  m.dilated_count = dma.Count("dilated_count", m.dilated_count);

  Section runtime(table("runtime"), source, "runtime", {"threads", "device"}, c);
  c.threads = runtime.Count("threads", c.threads);
  c.retriever.device = c.prefill.device =
      runtime.Parsed("device", Name(c.retriever.device), [](const std::string& t) { return ParseDevice(t); });
  return c;
}

Config LoadConfig(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  LANDMARK_CHECK_ARG(file.good(), path + ": cannot open the config file");
  std::ostringstream text;
  text << file.rdbuf();
  return ParseConfig(text.str(), path);
}

size_t ParseByteSize(const std::string& text, const std::string& what) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string suffix = text.substr(used);
  double scale = 1;
  if (suffix == "K" || suffix == "k" || suffix == "KiB") scale = 1024;
  else if (suffix == "M" || suffix == "MiB") scale = 1 << 20;
  else if (suffix == "G" || suffix == "GiB") scale = double(1ull << 30);
  else LANDMARK_CHECK_ARG(suffix.empty(), what + ": cannot read '" + text + "' as a size (e.g. 1G, 512M)");
  LANDMARK_CHECK_ARG(used > 0 && value > 0, what + ": cannot read '" + text + "' as a size (e.g. 1G, 512M)");
  return size_t(value * scale);
}

}  // namespace landmark
