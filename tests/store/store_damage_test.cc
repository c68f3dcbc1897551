// Crash safety and damaged stores: a writer killed at random instants, full
// disks, and truncated, corrupted or foreign files. Every case ends in a
// clear message naming the file (or a verify report), never a crash, and
// nothing committed is lost.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "landmark/error.h"
#include "landmark/store.h"
#include "tests/store/store_test_util.h"

namespace landmark {
namespace {

using test::AppendTokens;
using test::CheckStoreContents;
using test::ReadAll;
using test::Spawn;
using test::MakeSmallStore;
using test::SmallOptions;
using test::TempStoreDir;

// The last "chunks N" line a child reported (committed chunks), or 0.
size_t LastCommitted(const std::string& lines) {
  size_t last = 0;
  std::istringstream in(lines);
  std::string word;
  size_t value;
  while (in >> word) {
    if (word == "chunks" && in >> value) last = value;
  }
  return last;
}

TEST_CASE("crash: a writer killed at any instant leaves a store that opens at its last commit") {
  TempStoreDir dir("crash");
  const StoreOptions options = SmallOptions();
  {
    // Committed before any kill: on a loaded machine (or under ASan) every
    // child may be killed before its first commit, and this must survive.
    StoreWriter writer = StoreWriter::Create(dir.str(), options);
    AppendTokens(writer, options.shape, 0, 20, true);
    writer.Close();
  }
  std::mt19937 rng(12345);
  size_t kills = 0;
  for (int round = 0; round < 25; ++round) {
    CAPTURE(round);
    int fd;
    const pid_t pid = Spawn(fd, [&](int out) {
      StoreWriter writer = StoreWriter::Append(dir.str());
      size_t reported = size_t(-1);
      for (size_t t = writer.info().tokens;; t += 5) {
        AppendTokens(writer, options.shape, t, 5, true, {5});
        const size_t committed = writer.info().chunks;
        if (committed != reported) {  // a commit finished before this line is written
          const std::string line = "chunks " + std::to_string(committed) + "\n";
          [[maybe_unused]] ssize_t n = ::write(out, line.data(), line.size());
          reported = committed;
        }
      }
    });
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 40000 + 1000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    const std::string lines = ReadAll(fd);
    CAPTURE(lines.substr(lines.size() > 200 ? lines.size() - 200 : 0));
    REQUIRE(lines.find("error") == std::string::npos);
    kills += WIFSIGNALED(status) ? 1 : 0;
    const size_t committed = LastCommitted(lines);
    const StoreReader reader = StoreReader::Open(dir.str());
    CHECK(reader.chunks() >= committed);
    CheckStoreContents(dir.str(), reader.tokens(), true);  // includes VerifyStore
  }
  CHECK(kills == 25);
  // The store keeps working: append after the last crash, then check everything.
  StoreWriter writer = StoreWriter::Append(dir.str());
  const size_t tokens = writer.info().tokens;
  CHECK(tokens >= 20);
  AppendTokens(writer, options.shape, tokens, 20, true);
  writer.Close();
  CheckStoreContents(dir.str(), tokens + 20, true);
}

TEST_CASE("disk full: a failed write names the file and loses nothing committed") {
  TempStoreDir dir("full");
  StoreOptions options = SmallOptions();
  StoreWriter::Create(dir.str(), options).Close();
  int fd;
  const pid_t pid = Spawn(fd, [&](int out) {
    ::signal(SIGXFSZ, SIG_IGN);  // writes past the limit then fail with EFBIG
    const rlimit limit{5 * 2 * 4096 - 100, 5 * 2 * 4096 - 100};  // < one full segment
    ::setrlimit(RLIMIT_FSIZE, &limit);
    StoreWriter writer = StoreWriter::Append(dir.str());
    for (size_t t = 0;; t += 4) {
      AppendTokens(writer, options.shape, t, 4, true, {4});
      const std::string line = "chunks " + std::to_string(writer.info().chunks) + "\n";
      [[maybe_unused]] ssize_t n = ::write(out, line.data(), line.size());
    }
  });
  int status = 0;
  ::waitpid(pid, &status, 0);
  const std::string lines = ReadAll(fd);
  CAPTURE(lines);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(lines.find("error ") != std::string::npos);
  CHECK(lines.find("kv-000000.bin: write failed") != std::string::npos);
  const size_t committed = LastCommitted(lines);
  const StoreReader reader = StoreReader::Open(dir.str());
  CHECK(reader.chunks() >= committed);
  CheckStoreContents(dir.str(), reader.tokens(), true);
}

TEST_CASE("disk full on a real file system (tmpfs; needs mount permission)") {
  TempStoreDir dir("tmpfs");
  std::filesystem::create_directories(dir.path);
  if (::mount("tmpfs", dir.str().c_str(), "tmpfs", 0, "size=256k") != 0) {
    MESSAGE("skipped: cannot mount a tmpfs here (" << std::strerror(errno) << ")");
    return;
  }
  const StoreOptions options = SmallOptions();
  std::string error;
  size_t committed = 0;
  {
    StoreWriter writer = StoreWriter::Create(dir.str() + "/s", options);
    try {
      for (size_t t = 0;; t += 4) {
        AppendTokens(writer, options.shape, t, 4, true, {4});
        committed = writer.info().chunks;
      }
    } catch (const Error& e) {
      error = e.what();
    }
  }  // the destructor reports the failed state on stderr, does not throw
  CAPTURE(error);
  CHECK(error.find("No space left on device") != std::string::npos);
  CHECK(StoreReader::Open(dir.str() + "/s").chunks() >= committed);
  CHECK(VerifyStore(dir.str() + "/s").empty());
  ::umount(dir.str().c_str());
}

void ExpectOpenError(const std::string& dir, const std::string& what) {
  CAPTURE(what);
  try {
    StoreReader::Open(dir);
    FAIL("opened a damaged store");
  } catch (const Error& e) {
    CAPTURE(std::string(e.what()));
    CHECK(std::string(e.what()).find(what) != std::string::npos);
  }
}

TEST_CASE("damaged manifest: truncated, empty, bit-flipped, unknown version, foreign") {
  TempStoreDir dir("manifest");
  const std::string store = MakeSmallStore(dir);
  const std::string path = store + "/manifest.json", original = test::ReadFile(path);
  test::WriteFile(path, original.substr(0, original.size() / 2));
  ExpectOpenError(store, "manifest.json: not valid JSON");
  test::WriteFile(path, "");
  ExpectOpenError(store, "manifest.json: empty");
  std::string flipped = original;
  const size_t at = flipped.find("\"chunks\": 7");
  REQUIRE(at != std::string::npos);
  flipped[at + 10] = '9';  // 7 -> 9 chunks: the manifest's own checksum no longer matches
  test::WriteFile(path, flipped);
  ExpectOpenError(store, "manifest.json: checksum mismatch");
  const size_t checksum = flipped.find("\"checksum\"");
  REQUIRE(checksum != std::string::npos);
  flipped.replace(checksum, 10, "\"unchecked\"");  // a legacy manifest (none): sizes no longer add up
  test::WriteFile(path, flipped);
  ExpectOpenError(store, "the counts imply");
  std::string version = original;
  version.replace(version.find("\"version\": 1"), 12, "\"version\": 99");
  test::WriteFile(path, version);
  ExpectOpenError(store, "unknown format version 99");
  test::WriteFile(path, "{\"hello\": \"world\"}");
  ExpectOpenError(store, "not a landmark store manifest");
  for (const std::string& problem : {std::string("not valid JSON")}) {
    test::WriteFile(path, original.substr(0, 10));
    CHECK(VerifyStore(store).at(0).find(problem) != std::string::npos);
  }
  test::WriteFile(path, original);
  CHECK(VerifyStore(store).empty());
}

TEST_CASE("damaged data files: truncated, missing, corrupted, trailing bytes") {
  TempStoreDir dir("data");
  const std::string store = MakeSmallStore(dir);
  const std::string segment = store + "/kv-000001.bin", bytes = test::ReadFile(segment);
  test::WriteFile(segment, bytes.substr(0, bytes.size() - 1));
  ExpectOpenError(store, "kv-000001.bin: " + std::to_string(bytes.size() - 1) + " bytes, the manifest says");
  auto problems = VerifyStore(store);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("kv-000001.bin") != std::string::npos);
  CHECK_THROWS_WITH_AS(StoreWriter::Append(store), doctest::Contains("truncated"), Error);

  std::string corrupted = bytes;
  corrupted[1000] ^= 0x10;  // one bit
  test::WriteFile(segment, corrupted);
  CHECK_NOTHROW(StoreReader::Open(store));  // open reads no data; verify does
  problems = VerifyStore(store);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("kv-000001.bin: checksum mismatch in bytes [0, ") != std::string::npos);

  test::WriteFile(segment, bytes + "trailing junk from an interrupted write");
  CHECK(VerifyStore(store).empty());  // past the commit: ignored
  StoreWriter::Append(store).Close();  // and trimmed by the next writer
  CHECK(test::ReadFile(segment) == bytes);

  std::filesystem::remove(store + "/landmarks.bin");
  ExpectOpenError(store, "landmarks.bin: cannot open");
  CHECK(VerifyStore(store).at(0).find("landmarks.bin") != std::string::npos);
}

TEST_CASE("not a store, not creatable, not empty") {
  TempStoreDir dir("notastore");
  std::filesystem::create_directories(dir.path);
  ExpectOpenError(dir.str(), "not a landmark store");
  ExpectOpenError(dir.str() + "/missing", "no such store directory");
  CHECK_THROWS_WITH_AS(StoreWriter::Append(dir.str()), doctest::Contains("not a landmark store"), Error);
  test::WriteFile(dir.str() + "/notes.txt", "mine");
  CHECK_THROWS_WITH_AS(StoreWriter::Create(dir.str(), SmallOptions()), doctest::Contains("not empty (found notes.txt)"), Error);
  CHECK_THROWS_WITH_AS(StoreWriter::Create("/proc/landmark-store", SmallOptions()),
                       doctest::Contains("/proc/landmark-store: cannot create"), Error);
}

}  // namespace
}  // namespace landmark
