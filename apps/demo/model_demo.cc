#include "apps/demo/model_demo.h"

#include <cstdint>
#include <sys/resource.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "landmark/error.h"
#include "apps/demo/passkey_demo.h"
#include "src/core/enum_names.h"

namespace landmark::demo {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

std::string Needle(uint32_t vault, uint32_t key) {
  char s[64];
  std::snprintf(s, sizeof s, " The pass key for vault %03u is %05u. ", vault, key);
  return s;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(q * double(v.size())))];
}

}  // namespace

std::string NeedleQuestion(uint32_t vault, bool multi) {
  char s[64];
  std::snprintf(s, sizeof s, " Q: pass key%s for vault %03u? A: ", multi ? "s" : "", vault);
  return s;
}

namespace {
std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}
}  // namespace

size_t ValueCount(const std::string& expected) { return Words(expected).size(); }

size_t ValuesFound(const std::string& expected, const std::string& answer) {
  const std::vector<std::string> said = Words(answer);
  size_t found = 0;
  for (const std::string& value : Words(expected)) found += std::find(said.begin(), said.end(), value) != said.end();
  return found;
}

constexpr EnumName<ModelTask> kModelTaskNames[] = {
    {ModelTask::kSingle, "single"}, {ModelTask::kMultiKey, "multikey"}, {ModelTask::kMultiValue, "multivalue"}};

ModelTask ParseModelTask(const std::string& name) { return ParseIn(kModelTaskNames, name, "task"); }
const char* Name(ModelTask task) { return NameIn(kModelTaskNames, task); }

std::string LoadFillerText(const std::string& path_in) {
  const std::string path = path_in.empty() ? FindShippedFile("train/data/heldout.txt.gz") : path_in;
  gzFile f = gzopen(path.c_str(), "rb");
  LANDMARK_CHECK_ARG(f != nullptr, path + ": cannot open");
  std::string text;
  char buffer[1 << 16];
  int n;
  while ((n = gzread(f, buffer, sizeof buffer)) > 0) text.append(buffer, size_t(n));
  const bool ok = n == 0;
  gzclose(f);
  LANDMARK_CHECK_ARG(ok && !text.empty(), path + ": not a readable gzip file");
  for (char& c : text) {
    const unsigned char b = static_cast<unsigned char>(c);
    if (b >= 128) c = '?';
    else if (b < 32) c = ' ';
  }
  return text;
}

ModelHaystack MakeModelHaystack(const std::string& filler, size_t bytes, size_t needles, uint64_t seed,
                                size_t window, ModelTask task) {
  LANDMARK_CHECK_ARG(needles <= 900, "at most 900 needles (vaults 100..999)");
  LANDMARK_CHECK_ARG(!filler.empty(), "empty filler text");
  LANDMARK_CHECK_ARG(task != ModelTask::kMultiValue || needles % 2 == 0, "multivalue: an even number of needles");
  std::mt19937_64 rng(seed);
  auto below = [&](size_t n) { return size_t(rng() % n); };
  std::vector<ModelNeedle> chosen(needles);
  std::set<uint32_t> vaults;
  size_t needle_bytes = 0;
  if (task == ModelTask::kMultiKey) {  // whole decades of vaults, in a random order
    std::vector<uint32_t> decades;
    std::set<uint32_t> taken;
    while (decades.size() * 10 < needles) {
      const uint32_t d = uint32_t(10 + below(90));
      if (taken.insert(d).second) decades.push_back(d);
    }
    for (size_t i = 0; i < needles; ++i) chosen[i].vault = decades[i / 10] * 10 + uint32_t(i % 10);
  } else {
    const size_t distinct = task == ModelTask::kMultiValue ? needles / 2 : needles;
    for (size_t i = 0; i < distinct; ++i) {
      uint32_t v;
      do v = uint32_t(100 + below(900));
      while (!vaults.insert(v).second);
      chosen[i].vault = v;
      if (task == ModelTask::kMultiValue) chosen[distinct + i].vault = v;
    }
  }
  for (ModelNeedle& n : chosen) {
    n.key = uint32_t(10000 + below(90000));
    needle_bytes += Needle(n.vault, n.key).size();
  }
  if (task == ModelTask::kMultiValue) {  // two distinct values per vault
    for (size_t i = 0, half = needles / 2; i < half; ++i)
      while (chosen[half + i].key == chosen[i].key) chosen[half + i].key = uint32_t(10000 + below(90000));
  }
  if (task != ModelTask::kSingle) {  // the needles' order in the text (single: already random)
    for (size_t i = needles; i > 1; --i) std::swap(chosen[i - 1], chosen[below(i)]);
  }
  LANDMARK_CHECK_ARG(bytes > 4 * window + needle_bytes, "the haystack is too short for its needles");
  const size_t fill = bytes - needle_bytes, limit = bytes - 4 * window - needle_bytes;
  std::vector<size_t> cuts(needles);
  for (size_t& c : cuts) c = below(std::min(limit, fill) + 1);
  std::sort(cuts.begin(), cuts.end());
  ModelHaystack h;
  h.text.reserve(bytes);
  size_t filled = 0;
  auto add_filler = [&](size_t until) {  // filler bytes up to `until` of the fill
    while (filled < until) {
      const size_t take = std::min({until - filled, size_t(4096), filler.size()});
      h.text.append(filler, below(filler.size() - take + 1), take);
      filled += take;
    }
  };
  for (size_t i = 0; i < needles; ++i) {
    add_filler(cuts[i]);
    chosen[i].position = h.text.size();
    h.text += Needle(chosen[i].vault, chosen[i].key);
    h.needles.push_back(chosen[i]);
  }
  add_filler(fill);
  // the questions: one per needle, or one per vault (multivalue), in order of first needle
  std::vector<size_t> order(h.needles.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<bool> asked(h.needles.size(), false);
  for (size_t i = 0; i < h.needles.size(); ++i) {
    if (asked[i]) continue;
    ModelQuestion q;
    q.vault = h.needles[i].vault;
    q.multi = task == ModelTask::kMultiValue;
    std::vector<uint32_t> keys;
    for (size_t j = i; j < h.needles.size(); ++j) {
      if (h.needles[j].vault != q.vault || (!q.multi && j != i)) continue;
      asked[j] = true;
      q.needles.push_back(j);
      keys.push_back(h.needles[j].key);
    }
    std::sort(keys.begin(), keys.end());
    for (uint32_t k : keys) {
      char s[8];
      std::snprintf(s, sizeof s, "%05u", k);
      q.expected += (q.expected.empty() ? "" : " ") + std::string(s);
    }
    h.questions.push_back(q);
  }
  return h;
}

ModelDemoReport RunModelDemo(const ModelDemoOptions& o, const std::function<void(const std::string&)>& log,
                             const std::function<void(const ModelDemoProgress&)>& progress) {
  ModelDemoReport report;
  const Model model = Model::LoadSpec(o.model);
  report.model_path = model.path();
  report.config = model.config();
  const size_t W = report.config.window, S = report.config.chunk;
  const ModelHaystack haystack = MakeModelHaystack(LoadFillerText(), o.tokens, o.needles, o.seed, W, o.task);
  const std::string task = o.task == ModelTask::kSingle ? "" : std::string("-") + Name(o.task);
  const fs::path base = fs::path(o.cache_dir.empty() ? DefaultCacheDir() : o.cache_dir) /
                        ("model-" + model.digest() + "-heldout-" + std::to_string(o.tokens) + "-" +
                         std::to_string(o.needles) + "-" + std::to_string(o.seed) + task);
  report.store_path = (base / "store").string();
  const fs::path build_json = base / "build.json";
  if (!o.rebuild && fs::exists(build_json)) {
    try {
      const ModelAnswerer probe(model, report.store_path);
      const nlohmann::json j = nlohmann::json::parse(std::ifstream(build_json));
      report.reused = probe.store().tokens() == o.tokens;
      report.ingest_seconds = j.at("ingest_seconds").get<double>();
      report.lower_seconds = j.at("lower_seconds").get<double>();
      report.ingest_cpu_seconds = j.value("cpu_seconds", 0.0);
    } catch (const std::exception& e) {
      log(std::string("the cached store cannot be used (") + e.what() + "); building it again");
      report.reused = false;
    }
  }
  if (!report.reused) {
    fs::remove_all(base);
    fs::create_directories(base);
    const auto start = Clock::now();
    const double cpu_start = CpuSeconds();
    ModelIngestOptions options;
    options.segment_tokens = o.segment_tokens;
    options.metadata["demo"] = base.filename().string();
    ModelIngest ingest = ModelIngest::Create(model, report.store_path, options);
    const size_t piece = size_t(1) << 18;
    for (size_t at = 0; at < haystack.text.size(); at += piece) {
      ingest.Add(std::string_view(haystack.text).substr(at, piece));
      if (progress) progress({ingest.processed_tokens(), o.tokens, Seconds(start)});
    }
    ingest.Finish();
    report.ingest_seconds = Seconds(start);
    report.lower_seconds = ingest.lower_seconds();
    report.ingest_cpu_seconds = CpuSeconds() - cpu_start;
    std::ofstream(build_json) << nlohmann::json{{"ingest_seconds", report.ingest_seconds},
                                                {"lower_seconds", report.lower_seconds},
                                                {"cpu_seconds", report.ingest_cpu_seconds}}.dump();
  }

  const ModelAnswerer answerer(model, report.store_path);
  report.tokens = answerer.store().tokens();
  const StoreInfo& info = answerer.store().info();
  report.store_bytes = info.kv_bytes + info.landmark_bytes;
  std::vector<double> cold, warm;
  uint64_t bytes = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < haystack.questions.size(); ++i) {
      const ModelQuestion& q = haystack.questions[i];
      const ModelAnswer a = answerer.Ask(NeedleQuestion(q.vault, q.multi), 24);
      if (pass == 1) {
        report.answers[i].warm_seconds = a.seconds;
        warm.push_back(a.seconds * 1e3);
        continue;
      }
      ModelAnswerResult r;
      r.needle = haystack.needles[q.needles.front()];
      r.expected = q.expected;
      r.answer = a.text;
      r.correct = a.text == q.expected;
      r.values = ValueCount(q.expected);
      r.values_found = ValuesFound(q.expected, a.text);
      r.retrieved = true;
      for (size_t j : q.needles) {
        const ModelNeedle& n = haystack.needles[j];
        const size_t first = n.position / S, last = (n.position + Needle(n.vault, n.key).size() - 1) / S;
        bool found = false;
        for (uint32_t c : a.chunks) found = found || (c >= first && c <= last);
        r.retrieved = r.retrieved && found;
      }
      r.seconds = a.seconds;
      r.bytes = a.bytes_touched;
      bytes += a.bytes_touched;
      report.correct += r.correct;
      report.values += r.values;
      report.values_found += r.values_found;
      report.retrieved += r.retrieved;
      cold.push_back(a.seconds * 1e3);
      report.answers.push_back(r);
    }
  }
  report.cold_median_ms = Percentile(cold, 0.5);
  report.cold_p95_ms = Percentile(cold, 0.95);
  report.median_ms = Percentile(warm, 0.5);
  report.p95_ms = Percentile(warm, 0.95);
  report.mean_bytes = report.answers.empty() ? 0 : bytes / report.answers.size();
  if (!o.keep) fs::remove_all(base);
  return report;
}

}  // namespace landmark::demo
