// Issue 15, the store: hostile manifests (overflowing regions, edited
// fields, wrong types), files replaced by FIFOs, symbolic and hard links,
// a damaged tail an append must not launder, non-finite K/V, and
// attachments committed atomically with the K/V (killed at any instant).
// Each TEST_CASE is named after the item it covers.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "landmark/error.h"
#include "landmark/store.h"
#include "tests/store/store_test_util.h"

namespace landmark {
namespace {

using nlohmann::json;
using test::AppendTokens;
using test::CheckStoreContents;
using test::MakeSmallStore;
using test::SmallOptions;
using test::TempStoreDir;

std::string TailFile(const std::string& store) {
  for (const auto& e : std::filesystem::directory_iterator(store)) {
    if (e.path().filename().string().rfind("tail-", 0) == 0) return e.path().string();
  }
  return "";
}

// The manifest as JSON, and written back with its checksum recomputed the
// way a writer computes it (or, `sign` false, without one: a legacy manifest).
json ReadManifest(const std::string& store) { return json::parse(test::ReadFile(store + "/manifest.json")); }
void WriteManifest(const std::string& store, json j, bool sign = true) {
  j.erase("checksum");
  if (sign) {
    const std::string text = j.dump();
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016" PRIx64, XXH3_64bits(text.data(), text.size()));
    j["checksum"] = hex;
  }
  test::WriteFile(store + "/manifest.json", j.dump(2));
}

std::string OpenError(const std::string& store) {
  try {
    StoreReader::Open(store);
  } catch (const Error& e) {
    return e.what();
  }
  return "(opened)";
}

// Runs `body` in a child process killed after `seconds`: returns what it
// threw ("" if nothing), or "hung" / "crashed (signal N)".
template <class Body>
std::string InChild(const Body& body, int seconds = 10) {
  int fd;
  const pid_t pid = test::Spawn(fd, [&](int) {
    ::alarm(unsigned(seconds));
    body();
  });
  std::string out = test::ReadAll(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) return WTERMSIG(status) == SIGALRM ? "hung" : "crashed (signal " + std::to_string(WTERMSIG(status)) + ")";
  return out.rfind("error ", 0) == 0 ? out.substr(6) : out;
}

TEST_CASE("hardening 01: manifest regions whose sizes overflow 2^64 are refused, not mapped (verify, open)") {
  TempStoreDir dir("overflow");
  const std::string store = MakeSmallStore(dir);
  const json original = ReadManifest(store);
  json j = original;
  json& landmarks = j["files"]["landmarks.bin"];
  const uint64_t bytes = landmarks["bytes"].get<uint64_t>(), big = std::numeric_limits<uint64_t>::max() - 4095;
  landmarks["regions"] = json::array({{{"offset", 0}, {"bytes", big}, {"xxh3", "0000000000000000"}},
                                      {{"offset", big}, {"bytes", bytes + 4096}, {"xxh3", "0000000000000000"}}});
  WriteManifest(store, j);
  std::string verify;
  CHECK(InChild([&] {
          const auto problems = VerifyStore(store);
          throw Error(problems.empty() ? "no problem" : problems[0], __FILE__, __LINE__);
        }).find("landmarks.bin regions exceed its") != std::string::npos);
  CHECK(OpenError(store).find("landmarks.bin regions exceed its") != std::string::npos);
  // Sizes the counts imply that overflow.
  j = original;
  j["tail_text_bytes"] = std::numeric_limits<uint64_t>::max();
  WriteManifest(store, j);
  const std::string tail_error = OpenError(store);
  CAPTURE(tail_error);
  CHECK(tail_error.find("the tail's size overflows") != std::string::npos);
}

TEST_CASE("hardening 02: store files replaced by FIFOs are refused at once (info, verify, open, append)") {
  TempStoreDir dir("fifo");
  const std::string store = MakeSmallStore(dir), tail = TailFile(store);
  REQUIRE(!tail.empty());
  for (const std::string& file :
       {store + "/manifest.json", store + "/landmarks.bin", store + "/kv-000000.bin", tail, store + "/text.bin"}) {
    CAPTURE(file);
    const std::string saved = test::ReadFile(file);
    std::filesystem::remove(file);
    REQUIRE(::mkfifo(file.c_str(), 0644) == 0);
    const std::string fifo = file + ": is a FIFO, not a regular file";
    CHECK(InChild([&] { StoreReader::Open(store); }).find(fifo) != std::string::npos);
    CHECK(InChild([&] { StoreWriter::Append(store); }).find(fifo) != std::string::npos);
    CHECK(InChild([&] {
            const auto problems = VerifyStore(store);
            throw Error(problems.empty() ? "no problem" : problems[0], __FILE__, __LINE__);
          }).find(fifo) != std::string::npos);
    if (file == store + "/manifest.json") CHECK(InChild([&] { ReadStoreInfo(store); }).find(fifo) != std::string::npos);
    std::filesystem::remove(file);
    test::WriteFile(file, saved);
  }
  CHECK(VerifyStore(store).empty());
}

TEST_CASE("hardening 04: the writer never follows symbolic links or hard links out of a store") {
  TempStoreDir dir("links");
  const std::string store = MakeSmallStore(dir);
  test::TempDir victims("victims");
  for (const std::string name : {".lock", "landmarks.bin", "text.bin", "text-index.bin", "kv-000001.bin"}) {
    CAPTURE(name);
    const std::string path = store + "/" + name, victim = victims / name, saved = test::ReadFile(path);
    test::WriteFile(victim, "precious data, not a store file");
    std::filesystem::remove(path);
    std::filesystem::create_symlink(victim, path);
    CHECK_THROWS_WITH_AS(StoreWriter::Append(store), doctest::Contains((name + ": is a symbolic link").c_str()), Error);
    if (name != ".lock" && name != "kv-000001.bin") {
      CHECK(OpenError(store).find(name + ": is a symbolic link") != std::string::npos);
    }
    CHECK(test::ReadFile(victim) == "precious data, not a store file");  // neither truncated nor overwritten
    // A hard link: appending and trimming would change the other file.
    std::filesystem::remove(path);
    test::WriteFile(path, saved);
    std::filesystem::create_hard_link(path, victims / (name + ".hard"));
    CHECK_THROWS_WITH_AS(StoreWriter::Append(store), doctest::Contains((name + ": has 2 hard links").c_str()), Error);
    std::filesystem::remove(victims / (name + ".hard"));
  }
  CheckStoreContents(store, 7 * 8 + 3, true);
  // A directory where a data file belongs.
  const std::string saved = test::ReadFile(store + "/landmarks.bin");
  std::filesystem::remove(store + "/landmarks.bin");
  std::filesystem::create_directory(store + "/landmarks.bin");
  CHECK(OpenError(store).find("landmarks.bin") != std::string::npos);
  std::filesystem::remove(store + "/landmarks.bin");
  test::WriteFile(store + "/landmarks.bin", saved);
}

TEST_CASE("hardening 05: an append does not launder a corrupted tail") {
  TempStoreDir dir("launder");
  const std::string store = MakeSmallStore(dir), tail = TailFile(store);
  std::string bytes = test::ReadFile(tail);
  bytes[3] ^= 0x20;
  test::WriteFile(tail, bytes);
  REQUIRE(VerifyStore(store).size() == 1);
  CHECK_THROWS_WITH_AS(StoreWriter::Append(store), doctest::Contains("checksum mismatch in bytes [0, "), Error);
  const auto problems = VerifyStore(store);  // still reported: nothing was rewritten
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find(tail + ": checksum mismatch") != std::string::npos);
}

TEST_CASE("hardening 06: the manifest's checksum covers every field, and every field is type-checked") {
  TempStoreDir dir("manifest-fields");
  const std::string store = MakeSmallStore(dir);
  const std::string original = test::ReadFile(store + "/manifest.json");
  json j = ReadManifest(store);
  REQUIRE(j.contains("checksum"));
  // Edited without re-signing: refused by open, info and verify.
  for (const auto& [key, value] : {std::pair<std::string, json>{"encoder.seed", "12345"}, {"bigram_weight", "0.9"}}) {
    json edited = j;
    edited["metadata"][key] = value;
    test::WriteFile(store + "/manifest.json", edited.dump(2));
    CHECK(OpenError(store).find("manifest.json: checksum mismatch") != std::string::npos);
    CHECK_THROWS_WITH_AS(ReadStoreInfo(store), doctest::Contains("checksum mismatch"), Error);
    REQUIRE(!VerifyStore(store).empty());
    CHECK(VerifyStore(store)[0].find("checksum mismatch") != std::string::npos);
  }
  // Wrong types, each named (re-signed, so the type check itself speaks).
  const std::vector<std::tuple<std::string, json, std::string>> cases = {
      {"version", json(uint64_t(1099511627777)), "unknown format version 1099511627777"},
      {"version", json(1.5), "field 'version' must be a non-negative integer, is 1.5"},
      {"version", json(true), "field 'version' must be a non-negative integer, is true"},
      {"chunks", json("7"), "field 'chunks' must be a non-negative integer, is \"7\""},
      {"chunks", json(-1), "field 'chunks' must be a non-negative integer, is -1"},
      {"text", json(1), "field 'text' must be true or false, is 1"},
      {"created", json(5), "field 'created' must be a string, is 5"},
      {"creator", json::array(), "field 'creator' must be a string, is []"},
      {"metadata", json(3), "field 'metadata' must be an object, is 3"},
      {"files", json("x"), "field 'files' must be an object"},
      {"shape", json::object(), "missing field 'shape.chunk_size'"},
      {"commit_every", json(2.0), "field 'commit_every' must be a non-negative integer, is 2.0"},
  };
  for (const auto& c : cases) {  // no structured binding: clang 14 cannot capture one in CAPTURE
    const auto& [field_name, value, message] = c;
    const std::string& field = field_name;
    CAPTURE(field);
    json edited = j;
    edited[field] = value;
    WriteManifest(store, edited);
    const std::string error = OpenError(store);
    CAPTURE(error);
    CHECK(error.find("manifest.json: ") != std::string::npos);
    CHECK(error.find(message) != std::string::npos);
    CHECK(error.find("json.exception") == std::string::npos);
  }
  json edited = j;
  edited["shape"]["chunk_size"] = 8.0;
  WriteManifest(store, edited);
  CHECK(OpenError(store).find("field 'shape.chunk_size' must be a non-negative integer, is 8.0") != std::string::npos);
  edited = j;
  edited["metadata"]["encoder"] = 7;
  WriteManifest(store, edited);
  CHECK(OpenError(store).find("field 'metadata.encoder' must be a string, is 7") != std::string::npos);
  edited = j;
  edited["files"]["landmarks.bin"]["regions"][0]["xxh3"] = 17;
  WriteManifest(store, edited);
  CHECK(OpenError(store).find("field 'files.landmarks.bin.regions[0].xxh3' must be a string") != std::string::npos);
  edited = j;
  edited["checksum"] = "not hex";
  test::WriteFile(store + "/manifest.json", edited.dump(2));
  CHECK(OpenError(store).find("field 'checksum' is not an xxh3-64 checksum") != std::string::npos);
  // A manifest written before the checksum existed (none): read as legacy,
  // its fields still type-checked; the next commit adds the checksum.
  WriteManifest(store, j, /*sign=*/false);
  CHECK(OpenError(store) == "(opened)");
  CHECK(VerifyStore(store).empty());
  edited = j;
  edited["version"] = true;
  WriteManifest(store, edited, /*sign=*/false);
  CHECK(OpenError(store).find("field 'version' must be a non-negative integer, is true") != std::string::npos);
  WriteManifest(store, j, /*sign=*/false);
  {
    StoreWriter writer = StoreWriter::Append(store);
    AppendTokens(writer, SmallOptions().shape, 7 * 8 + 3, 5, true);
    writer.Close();
  }
  CHECK(ReadManifest(store).contains("checksum"));
  CheckStoreContents(store, 7 * 8 + 8, true);
}

TEST_CASE("hardening 10: NaN, Inf and values beyond f16 are refused, naming the input, token and head") {
  TempStoreDir dir("nonfinite");
  StoreOptions o = SmallOptions();
  o.text = false;
  StoreWriter writer = StoreWriter::Create(dir.str(), o);
  const size_t n = 20, H = o.shape.kv_heads, d = o.shape.head_dim;
  std::vector<float> keys(n * H * d, 0.5f), values(n * H * d, -0.25f);
  TokenBatch b;
  b.tokens = n;
  b.keys = keys.data();
  b.values = values.data();
  auto refused = [&](std::vector<float>& data, size_t token, size_t head, float value, const std::string& message) {
    CAPTURE(message);
    data[(token * H + head) * d + 3] = value;
    CHECK_THROWS_WITH_AS(writer.Append(b), doctest::Contains(message.c_str()), Error);
    data[(token * H + head) * d + 3] = 0.5f;
  };
  refused(keys, 5, 1, NAN, ": append: token 5, head 1: the keys hold NaN");
  refused(values, 19, 0, -INFINITY, "token 19, head 0: the values hold -Inf");
  refused(keys, 0, 1, 70000.0f, "token 0, head 1: the keys hold 70000, beyond the range of f16");
  refused(values, 7, 1, 65520.0f, "token 7, head 1: the values hold 65520, beyond the range of f16");
  b.source.keys = "K.npy";
  b.source.values = "V.npy";
  b.source.first_token = 1000;
  refused(values, 2, 1, NAN, "V.npy: token 1002, head 1: the values hold NaN");
  // The largest f16 is fine; the writer is still usable and the store intact.
  keys[3] = 65504.0f;
  values[3] = 65519.0f;  // rounds to 65504
  writer.Append(b);
  writer.Close();
  const StoreReader reader = StoreReader::Open(dir.str());
  CHECK(reader.tokens() == n);
  CHECK(LoadAsF32(reader.chunk(0, 0).keys, DType::kF16, 3) == 65504.0f);
  CHECK(VerifyStore(dir.str()).empty());
  // f16 and bf16 inputs: negative values are fine; infinities, and bf16
  // values past the largest f16, are not.
  {
    TempStoreDir halves("nonfinite-halves");
    StoreWriter w = StoreWriter::Create(halves.str(), o);
    std::vector<uint16_t> k16(n * H * d, ToF16(-0.75f).bits), v16(n * H * d, ToF16(-3.0f).bits);
    TokenBatch h;
    h.tokens = n;
    h.keys = k16.data();
    h.values = v16.data();
    h.dtype = DType::kF16;
    w.Append(h);
    k16[(4 * H + 1) * d] = 0xFC00;  // -Inf
    CHECK_THROWS_WITH_AS(w.Append(h), doctest::Contains("token 4, head 1: the keys hold -Inf"), Error);
    std::fill(k16.begin(), k16.end(), ToBF16(-65280.0f).bits);  // the largest bf16 below f16's overflow
    std::fill(v16.begin(), v16.end(), ToBF16(-0.5f).bits);
    h.dtype = DType::kBF16;
    w.Append(h);
    v16[(9 * H + 0) * d + 1] = ToBF16(-65536.0f).bits;
    CHECK_THROWS_WITH_AS(w.Append(h), doctest::Contains("token 9, head 0: the values hold -65536, beyond the range of f16"),
                         Error);
    w.Close();
    CHECK(StoreReader::Open(halves.str()).tokens() == 2 * n);
  }
  // Learned landmarks too.
  TempStoreDir learned("nonfinite-learned");
  o.shape.landmark = LandmarkKind::kLearned;
  o.shape.landmark_heads = 2;
  o.shape.landmark_dim = 4;
  o.shape.dtype = DType::kBF16;
  StoreWriter w2 = StoreWriter::Create(learned.str(), o);
  std::vector<float> lm(2 * 2 * 4, 1.0f);
  lm[2 * 4 + 4 + 1] = INFINITY;  // chunk 1, head 1
  b.landmarks = lm.data();
  b.landmark_chunks = 2;
  b.tokens = 16;
  b.source = {};
  CHECK_THROWS_WITH_AS(w2.Append(b), doctest::Contains("landmark 1, head 1: the landmarks hold +Inf"), Error);
}

// ---- attachments (item 8's mechanism) ----

TEST_CASE("hardening 08: attachments are committed with the K/V, checked by verify, listed by info") {
  TempStoreDir dir("attachments");
  const StoreOptions options = SmallOptions();
  {
    StoreWriter writer = StoreWriter::Create(dir.str(), options);
    AppendTokens(writer, options.shape, 0, 10, true);
    writer.SetAttachment("state", "tokens=10");
    writer.AppendAttachment("log", "a", 1);
    CHECK(writer.attachment("state") == "tokens=10");  // pending, visible to the writer
    CHECK(writer.attachment("log") == "a");
    CHECK(!StoreReader::Open(dir.str()).has_attachment("state"));  // not committed yet
    writer.Commit();
    const StoreReader reader = StoreReader::Open(dir.str());
    CHECK(reader.attachment("state") == "tokens=10");
    CHECK(reader.attachment("log") == "a");
    CHECK(reader.attachment("absent").empty());
    CHECK(!reader.has_attachment("absent"));
    writer.SetAttachment("state", "tokens=20");
    writer.AppendAttachment("log", "bc", 2);
    AppendTokens(writer, options.shape, 10, 10, true);
    CHECK(reader.attachment("state") == "tokens=10");  // a reader keeps its commit
    writer.Close();
  }
  const StoreReader reader = StoreReader::Open(dir.str());
  CHECK(reader.attachment("state") == "tokens=20");
  CHECK(reader.attachment("log") == "abc");
  const StoreInfo info = reader.info();
  REQUIRE(info.attachments.size() == 2);
  CHECK(info.attachments.at("log").append);
  CHECK(info.attachments.at("state").bytes == 9);
  CHECK(info.ToJson().find("\"state\": {\n      \"bytes\": 9,\n      \"mode\": \"replace\"") != std::string::npos);
  CHECK(info.ToText().find("attachment state: 9 B") != std::string::npos);
  // One file per replaced attachment: the superseded one is gone.
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path)) {
    files += e.path().filename().string().rfind("att-state.", 0) == 0 ? 1 : 0;
  }
  CHECK(files == 1);
  CheckStoreContents(dir.str(), 20, true);

  // Misuse: names, modes.
  StoreWriter writer = StoreWriter::Append(dir.str());
  CHECK(writer.attachment("state") == "tokens=20");
  CHECK_THROWS_WITH_AS(writer.SetAttachment("Bad Name", "x"), doctest::Contains("attachment name 'Bad Name'"), Error);
  CHECK_THROWS_WITH_AS(writer.SetAttachment(std::string(65, 'a'), "x"), doctest::Contains("1-64 characters"), Error);
  CHECK_THROWS_WITH_AS(writer.AppendAttachment("state", "x", 1), doctest::Contains("cannot be appended to"), Error);
  CHECK_THROWS_WITH_AS(writer.SetAttachment("log", "x"), doctest::Contains("cannot be replaced"), Error);
  // Bytes appended past the commit: ignored by readers, trimmed by the next writer.
  writer.AppendAttachment("log", "zzz", 3);
  writer.Abandon();
  CHECK(StoreReader::Open(dir.str()).attachment("log") == "abc");
  StoreWriter::Append(dir.str()).Close();
  CHECK(test::ReadFile(dir / "att-log.bin") == "abc");

  // Damage: verify names the file; a reader refuses the attachment.
  std::string state_file;
  for (const auto& e : std::filesystem::directory_iterator(dir.path)) {
    if (e.path().filename().string().rfind("att-state.", 0) == 0) state_file = e.path().string();
  }
  test::WriteFile(state_file, "tokens=99");
  const auto problems = VerifyStore(dir.str());
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find(state_file + ": checksum mismatch") != std::string::npos);
  const StoreReader damaged = StoreReader::Open(dir.str());
  CHECK_THROWS_WITH_AS(damaged.attachment("state"), doctest::Contains("checksum mismatch"), Error);
  CHECK_THROWS_WITH_AS(StoreWriter::Append(dir.str()).attachment("state"), doctest::Contains("checksum mismatch"),
                       Error);
  std::filesystem::remove(state_file);
  CHECK(OpenError(dir.str()).find("cannot open") != std::string::npos);
}

TEST_CASE("hardening 08: a writer killed at any instant leaves attachments of its last commit, never a mix") {
  // Each commit carries "state" = the store's token count and one "log"
  // record per commit; after every kill they must describe the store.
  TempStoreDir dir("attachments-crash");
  StoreOptions options = SmallOptions();
  options.commit_every = 0;
  StoreWriter::Create(dir.str(), options).Close();
  std::mt19937 rng(808);
  for (int round = 0; round < 20; ++round) {
    CAPTURE(round);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      try {
        StoreWriter writer = StoreWriter::Append(dir.str());
        for (size_t t = writer.info().tokens;; t += 5) {
          AppendTokens(writer, options.shape, t, 5, true, {5});
          writer.SetAttachment("state", std::to_string(t + 5));
          const std::string record = std::to_string(t + 5) + ";";
          writer.AppendAttachment("log", record.data(), record.size());
          writer.Commit();
        }
      } catch (...) {
      }
      ::_exit(1);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 30000 + 1000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    const StoreReader reader = StoreReader::Open(dir.str());
    if (reader.tokens() > 0) {
      CHECK(reader.attachment("state") == std::to_string(reader.tokens()));
      const std::string log(reader.attachment("log"));
      CHECK(log.size() >= 2);
      CHECK(log.substr(log.rfind(';', log.size() - 2) + 1) == std::to_string(reader.tokens()) + ";");
    }
    CheckStoreContents(dir.str(), reader.tokens(), true);  // includes VerifyStore
  }
}

}  // namespace
}  // namespace landmark
