#include "perf/bench_text.h"

#include <sqlite3.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <unordered_set>

#include "landmark/encoder.h"
#include "landmark/error.h"
#include "landmark/ingest.h"
#include "landmark/retriever.h"
#include "landmark/text_index.h"
#include "perf/bench_report.h"
#include "src/core/splitmix.h"
#include "src/io/text_files.h"
#include "src/text/index_writer.h"

namespace landmark::perf {
namespace {

namespace fs = std::filesystem;

struct Source {
  std::string path, text;
};

bool Skipped(const fs::path& p) {
  static const std::set<std::string> kBinary = {".gz", ".html", ".htm", ".png", ".jpg", ".svg", ".pdf", ".xz",
                                                ".bz2", ".zip", ".ico", ".gif", ".css", ".js", ".woff", ".ttf"};
  return kBinary.count(p.extension().string()) > 0;
}

// Text files under the roots in sorted order (symbolic links not followed,
// repeated contents once) until `words` words.
std::vector<Source> Collect(const TextBenchOptions& o, size_t& words) {
  std::vector<Source> out;
  std::unordered_set<std::string> seen;
  words = 0;
  for (const std::string& root : o.roots) {
    std::vector<std::string> files;
    std::error_code error;
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      std::error_code e;
      if (it->is_regular_file(e) && !it->is_symlink(e) && !Skipped(it->path()) && it->file_size(e) < (size_t(1) << 20)) {
        files.push_back(it->path().string());
      }
    }
    std::sort(files.begin(), files.end());
    for (const std::string& f : files) {
      if (words >= o.words) return out;
      size_t bytes = 0;
      std::string hash;
      if (!CheckTextFile(f, &bytes, &hash).empty() || !seen.insert(hash).second) continue;
      std::ifstream in(f, std::ios::binary);
      Source s{f, std::string(std::istreambuf_iterator<char>(in), {})};
      words += HashingEncoder::TokenizeWords(s.text).size();
      out.push_back(std::move(s));
    }
  }
  return out;
}

struct Question {
  std::string text, needle;  // needle: the planted sentence (pass keys), else ""
  uint32_t chunk = 0;        // real questions: the chunk the passage lies in
};

std::string Lower(std::string s) {
  for (char& c : s) c = (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
  return s;
}

// FTS5 over the same chunk texts: rowid = chunk id, the default unicode61
// tokenizer, bm25() ranking; a question is the OR of its distinct words.
class Fts5 {
 public:
  explicit Fts5(const std::string& path) {
    LANDMARK_CHECK_ARG(sqlite3_open(path.c_str(), &db_) == SQLITE_OK, path + ": cannot open the FTS5 database");
    Exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; CREATE VIRTUAL TABLE t USING fts5(body);");
  }
  ~Fts5() {
    sqlite3_finalize(query_);
    sqlite3_close(db_);
  }
  void Exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      const std::string why = message ? message : "?";
      sqlite3_free(message);
      LANDMARK_THROW(std::string("fts5: ") + why);
    }
  }
  void Insert(const std::vector<std::pair<uint32_t, std::string_view>>& rows) {
    Exec("BEGIN");
    sqlite3_stmt* insert = nullptr;
    sqlite3_prepare_v2(db_, "INSERT INTO t(rowid, body) VALUES (?1, ?2)", -1, &insert, nullptr);
    for (const auto& [id, text] : rows) {
      sqlite3_bind_int64(insert, 1, id);
      sqlite3_bind_text(insert, 2, text.data(), int(text.size()), SQLITE_STATIC);
      LANDMARK_CHECK_ARG(sqlite3_step(insert) == SQLITE_DONE, std::string("fts5: ") + sqlite3_errmsg(db_));
      sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    Exec("COMMIT");
    sqlite3_prepare_v2(db_, "SELECT rowid FROM t WHERE t MATCH ?1 ORDER BY rank LIMIT ?2", -1, &query_, nullptr);
  }
  std::vector<uint32_t> Search(const std::string& question, size_t k) {
    std::set<std::string> words;
    for (const auto& [b, e] : HashingEncoder::TokenizeWords(question)) words.insert(Lower(question.substr(b, e - b)));
    std::string match;
    for (const std::string& w : words) match += (match.empty() ? "\"" : " OR \"") + w + "\"";
    std::vector<uint32_t> out;
    if (match.empty()) return out;
    sqlite3_bind_text(query_, 1, match.c_str(), int(match.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(query_, 2, int64_t(k));
    while (sqlite3_step(query_) == SQLITE_ROW) out.push_back(uint32_t(sqlite3_column_int64(query_, 0)));
    sqlite3_reset(query_);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* query_ = nullptr;
};

double PeakRssMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

uint64_t StoreBytes(const StoreInfo& i) {
  uint64_t bytes = i.kv_bytes + i.landmark_bytes + i.text_bytes;
  for (const auto& [name, a] : i.attachments) bytes += a.bytes;
  return bytes;
}

}  // namespace

TextBenchReport BenchText(const TextBenchOptions& o, const std::function<void(const std::string&)>& progress) {
  TextBenchReport report;
  SplitMix64 rng{o.seed};
  // The haystack: the files, copied under dir/haystack, pass keys planted
  // at a line boundary in the middle of evenly spaced files.
  std::vector<Source> files = Collect(o, report.words);
  LANDMARK_CHECK_ARG(files.size() > o.pass_keys, "bench text: too few text files under the roots");
  report.files = files.size();
  std::vector<Question> questions;
  // Hosts: evenly spaced among files of 300+ words, so that a needle sits
  // in a full chunk (in a 10-word file it would win any question about
  // pass keys on length alone: BM25's length normalisation).
  std::vector<size_t> hosts;
  for (size_t i = 0; i < files.size(); ++i) {
    if (HashingEncoder::TokenizeWords(files[i].text).size() >= 300) hosts.push_back(i);
  }
  LANDMARK_CHECK_ARG(hosts.size() >= o.pass_keys, "bench text: too few files of 300+ words for the pass keys");
  for (size_t i = 0; i < o.pass_keys; ++i) {
    Source& f = files[hosts[(2 * i + 1) * hosts.size() / (2 * o.pass_keys)]];
    const size_t vault = 100 + 37 * i, key = 10000 + rng.Next() % 90000;
    const std::string sentence = "The pass key for vault " + std::to_string(vault) + " is " + std::to_string(key) + ".\n";
    size_t at = f.text.find('\n', f.text.size() / 2);
    at = at == std::string::npos ? f.text.size() : at + 1;
    f.text.insert(at, sentence);
    questions.push_back({"What is the pass key for vault " + std::to_string(vault) + "?",
                         sentence.substr(0, sentence.size() - 1), 0});
  }
  const fs::path haystack = fs::path(o.dir) / "haystack";
  // Only what this benchmark makes there: --dir may hold other things.
  for (const char* mine : {"haystack", "store", "fts5.db"}) fs::remove_all(fs::path(o.dir) / mine);
  for (const Source& f : files) {
    const fs::path p = haystack / fs::path(f.path).relative_path();
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary).write(f.text.data(), std::streamsize(f.text.size()));
    report.input_bytes += f.text.size();
  }
  files.clear();
  files.shrink_to_fit();
  progress("haystack: " + std::to_string(report.files) + " files, " + std::to_string(report.words) + " words, " +
           std::to_string(report.input_bytes) + " bytes");

  // landmark: ingest, then open the index.
  TextBenchSystem lm;
  lm.name = "landmark";
  const std::string store_dir = (fs::path(o.dir) / "store").string();
  {
    const auto start = Clock::now();
    StoreOptions so = TextStoreOptions(TextEncoderOptions());
    so.shape.chunk_size = o.chunk_size;
    StoreWriter writer = StoreWriter::Create(store_dir, so);
    TextIngestOptions t;
    t.encoder = TextEncoderOptions();
    IngestText(writer, {haystack.string()}, t);
    writer.Close();
    lm.ingest_s = Millis(start, Clock::now()) / 1e3;
  }
  report.peak_rss_mib = PeakRssMiB();
  const StoreReader store = StoreReader::Open(store_dir);
  const auto open_start = Clock::now();
  const TextIndex index(store);
  lm.open_ms = Millis(open_start, Clock::now());
  report.tokens = store.tokens();
  report.chunks = store.chunks();
  lm.bytes = double(StoreBytes(store.info()));
  lm.bytes_per_token = lm.bytes / double(report.tokens);
  // The first text stores: d 256 f16 K and V per token, one mean landmark
  // (d f16) per 64 tokens, the text (per word here; they had more tokens).
  report.legacy_bytes_per_token =
      2.0 * 256 * 2 + 256 * 2 / 64.0 + double(store.info().text_bytes) / double(report.tokens);
  progress("landmark: ingested " + std::to_string(report.tokens) + " tokens in " + FormatTime(lm.ingest_s));

  // Real questions: 8 consecutive words of a random chunk whose text occurs
  // once in the corpus; the question keeps 6 of them (every third dropped).
  std::string all;
  for (size_t c = 0; c < store.chunks(); ++c) all += std::string(store.text(c)) + '\x1f';
  for (auto& q : questions) {  // the chunk with the sentence, or (cut in two) with its answer
    const std::string answer = q.needle.substr(q.needle.rfind(" is "));  // " is K."
    bool whole = false;
    for (size_t c = 0; c < store.chunks() && !whole; ++c) {
      const std::string_view t = store.text(c);
      if (t.find(q.needle) != std::string_view::npos) whole = true, q.chunk = uint32_t(c);
      else if (t.find(answer) != std::string_view::npos) q.chunk = uint32_t(c);
    }
  }
  for (size_t tries = 0; questions.size() < o.pass_keys + o.questions && tries < 100000; ++tries) {
    const uint32_t c = uint32_t(rng.Next() % store.chunks());
    if (!index.live(c)) continue;
    const std::string text(store.text(c));
    const auto spans = HashingEncoder::TokenizeWords(text);
    if (spans.size() < 20) continue;
    const size_t first = 2 + rng.Next() % (spans.size() - 12);
    const std::string passage = text.substr(spans[first].first, spans[first + 7].second - spans[first].first);
    const size_t once = all.find(passage);
    if (all.find(passage, once + 1) != std::string::npos) continue;
    std::string question;
    size_t long_words = 0;
    for (size_t w = 0; w < 8; ++w) {
      if (w % 3 == 2) continue;
      const std::string word = text.substr(spans[first + w].first, spans[first + w].second - spans[first + w].first);
      long_words += word.size() >= 4;
      question += (question.empty() ? "" : " ") + word;
    }
    if (long_words < 3) continue;
    questions.push_back({question, "", c});
  }
  all.clear();
  all.shrink_to_fit();

  // landmark: BM25 over the index, then attention over the top chunks.
  RetrieverConfig config;
  config.top_k = 16;
  const Retriever retriever(store, config);
  const HashingEncoder encoder(HashingEncoderOptionsOf(store.info()));
  auto ask = [&](const Question& q) {
    const std::vector<TextHit> hits = index.Search(q.text, config.top_k);
    const auto v = encoder.EncodeTextQuery(q.text, 1);
    RetrievalQuery rq;
    rq.q = v.q.data();
    rq.r = v.r.data();
    std::vector<uint32_t> chunks;
    std::vector<float> scores;
    for (const TextHit& h : hits) chunks.push_back(h.chunk), scores.push_back(float(h.score));
    retriever.QueryChunks(rq, chunks, scores);
    return chunks;
  };
  auto score = [&](TextBenchSystem& s, const std::function<std::vector<uint32_t>(const Question&)>& run,
                   bool record) {
    for (const Question& q : questions) run(q);  // warm
    const auto start = Clock::now();
    std::vector<std::vector<uint32_t>> answers;
    for (const Question& q : questions) answers.push_back(run(q));
    s.query_ms = Millis(start, Clock::now()) / double(questions.size());
    s.questions = questions.size();
    for (size_t i = 0; i < questions.size(); ++i) {
      const auto& a = answers[i];
      const auto hit = std::find(a.begin(), a.begin() + ptrdiff_t(std::min(a.size(), o.show)), questions[i].chunk);
      s.top1 += !a.empty() && a[0] == questions[i].chunk;
      s.pass_top1 += i < o.pass_keys && !a.empty() && a[0] == questions[i].chunk;
      s.top_n += hit != a.begin() + ptrdiff_t(std::min(a.size(), o.show));
      if (record && (a.empty() || a[0] != questions[i].chunk)) report.misses.push_back(questions[i].text);
    }
  };
  score(lm, ask, true);
  progress("landmark: " + std::to_string(lm.top1) + "/" + std::to_string(lm.questions) + " right first");

  // FTS5 over the same chunks.
  TextBenchSystem fts;
  fts.name = "sqlite-fts5";
  {
    const std::string db = (fs::path(o.dir) / "fts5.db").string();
    Fts5 f(db);
    std::vector<std::pair<uint32_t, std::string_view>> rows;
    for (size_t c = 0; c < store.chunks(); ++c) {
      if (index.live(c)) rows.emplace_back(uint32_t(c), store.text(c));
    }
    const auto start = Clock::now();
    f.Insert(rows);
    fts.ingest_s = Millis(start, Clock::now()) / 1e3;
    fts.bytes = double(fs::file_size(db));
    fts.bytes_per_token = fts.bytes / double(report.tokens);
    score(fts, [&](const Question& q) { return f.Search(q.text, o.show); }, false);
  }
  progress("fts5: " + std::to_string(fts.top1) + "/" + std::to_string(fts.questions) + " right first");
  report.systems = {lm, fts};
  return report;
}

}  // namespace landmark::perf
