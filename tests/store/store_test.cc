// Store round trips, appends, tails, segments, commits, the writer lock, and
// concurrent readers.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "landmark/error.h"
#include "landmark/store.h"
#include "tests/store/store_test_util.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

using test::AppendTokens;
using test::CheckStoreContents;
using test::TempStoreDir;

StoreOptions Options(DType dtype, LandmarkKind kind, bool text = true) {
  StoreOptions o;
  o.shape.chunk_size = 16;
  o.shape.kv_heads = 2;
  o.shape.head_dim = 24;
  o.shape.dtype = dtype;
  o.shape.landmark = kind;
  if (kind == LandmarkKind::kLearned) {
    o.shape.landmark_heads = 3;
    o.shape.landmark_dim = 10;
  }
  o.text = text;
  o.commit_every = 3;
  return o;
}

TEST_CASE("store: round trip of every dtype and landmark kind, with text and a tail") {
  for (DType dtype : test::kAllDTypes) {
    for (LandmarkKind kind : {LandmarkKind::kMean, LandmarkKind::kMinMax, LandmarkKind::kLearned}) {
      const std::string dtype_name = Name(dtype), kind_name = Name(kind);
      CAPTURE(dtype_name);
      CAPTURE(kind_name);
      TempStoreDir dir("roundtrip");
      const StoreOptions options = Options(dtype, kind);
      {
        StoreWriter writer = StoreWriter::Create(dir.str(), options);
        AppendTokens(writer, options.shape, 0, 5 * 16 + 13, true, {1, 7, 33, 16, 5});
        writer.Close();
      }
      CheckStoreContents(dir.str(), 5 * 16 + 13, true);
    }
  }
}

TEST_CASE("store: appending across reopen equals writing at once; tails of every length") {
  for (size_t first_part : {0, 1, 15, 16, 17, 40}) {
    for (size_t total : {0, 1, 16, 47, 64}) {
      if (first_part > total) continue;
      CAPTURE(first_part);
      CAPTURE(total);
      TempStoreDir dir("append");
      const StoreOptions options = Options(DType::kF16, LandmarkKind::kMean);
      {
        StoreWriter writer = StoreWriter::Create(dir.str(), options);
        AppendTokens(writer, options.shape, 0, first_part, true, {5});
      }  // the destructor commits
      {
        StoreWriter writer = StoreWriter::Append(dir.str());
        CHECK(writer.info().tokens == first_part);
        AppendTokens(writer, options.shape, first_part, total - first_part, true, {3, 11});
        writer.Close();
      }
      CheckStoreContents(dir.str(), total, true);
    }
  }
}

TEST_CASE("store: segments roll over at the configured size") {
  TempStoreDir dir("segments");
  StoreOptions options = Options(DType::kBF16, LandmarkKind::kMinMax, false);
  options.segment_bytes = 3 * options.shape.kv_heads * options.shape.record_bytes() + 100;  // 3 chunks
  {
    StoreWriter writer = StoreWriter::Create(dir.str(), options);
    AppendTokens(writer, options.shape, 0, 10 * 16 + 2, false, {50});
    writer.Close();
  }
  CheckStoreContents(dir.str(), 10 * 16 + 2, false);
  const StoreReader reader = StoreReader::Open(dir.str());
  CHECK(reader.info().segments == 4);
  CHECK(reader.shape().record_bytes() % 4096 == 0);
  CHECK(reader.text(0).empty());
}

TEST_CASE("store: readers see the last commit; Refresh picks up new ones") {
  TempStoreDir dir("commits");
  const StoreOptions options = Options(DType::kF32, LandmarkKind::kMean);  // commits every 3 chunks
  StoreWriter writer = StoreWriter::Create(dir.str(), options);
  StoreReader reader = StoreReader::Open(dir.str());
  CHECK(reader.tokens() == 0);
  AppendTokens(writer, options.shape, 0, 2 * 16 + 5, true);
  CHECK(!reader.Refresh());  // nothing committed yet
  CHECK(StoreReader::Open(dir.str()).tokens() == 0);
  AppendTokens(writer, options.shape, 2 * 16 + 5, 16, true);  // completes chunk 3: auto commit
  CHECK(reader.Refresh());
  CHECK(reader.chunks() == 3);
  CHECK(reader.info().tail_tokens == 0);  // the automatic commit happens at the chunk boundary
  writer.Commit();
  CHECK(reader.Refresh());
  CHECK(reader.tokens() == 3 * 16 + 5);
  writer.Close();
  CheckStoreContents(dir.str(), 3 * 16 + 5, true);
}

TEST_CASE("store: one writer at a time") {
  TempStoreDir dir("lock");
  const StoreOptions options = Options(DType::kF16, LandmarkKind::kMean);
  StoreWriter writer = StoreWriter::Create(dir.str(), options);
  CHECK_THROWS_WITH_AS(StoreWriter::Append(dir.str()), doctest::Contains("another writer"), Error);
  CHECK_THROWS_WITH_AS(StoreWriter::Create(dir.str(), options), doctest::Contains("already holds a store"), Error);
  writer.Close();
  CHECK_NOTHROW(StoreWriter::Append(dir.str()).Close());
  CHECK_THROWS_WITH_AS(StoreWriter::Create(dir.str(), options), doctest::Contains("already holds a store"), Error);
  CHECK_THROWS_AS(writer.Append(test::Batch(options.shape, 0, 1, 0, true).batch), Error);  // closed
}

TEST_CASE("store: concurrent readers during appends always see a consistent commit") {
  TempStoreDir dir("concurrent");
  StoreOptions options = Options(DType::kF16, LandmarkKind::kMean, false);
  options.commit_every = 1;
  const size_t total = 40 * 16;
  StoreWriter writer = StoreWriter::Create(dir.str(), options);
  std::atomic<bool> done{false};
  std::atomic<size_t> opens{0}, failures{0};
  std::thread reader_thread([&] {
    size_t last = 0;
    while (!done.load()) {
      try {
        const StoreReader reader = StoreReader::Open(dir.str());
        const size_t chunks = reader.chunks();
        if (chunks < last) ++failures;
        last = chunks;
        if (chunks) {  // the newest committed chunk holds the right keys
          const ChunkKV kv = reader.chunk(chunks - 1, 1);
          const size_t t = (chunks - 1) * 16 + 3;
          if (LoadAsF32(kv.keys, DType::kF16, 3 * 24 + 5) != test::Rounded(test::TokenValue(t, 1, 5, 0), DType::kF16)) {
            ++failures;
          }
        }
        ++opens;
      } catch (const Error&) {
        ++failures;
      }
    }
  });
  AppendTokens(writer, options.shape, 0, total, false, {13});
  writer.Close();
  done = true;
  reader_thread.join();
  CHECK(opens.load() > 0);
  CHECK(failures.load() == 0);
  CheckStoreContents(dir.str(), total, false);
}

TEST_CASE("store: bad shapes and batches are refused with a message") {
  TempStoreDir dir("badshape");
  StoreOptions options = Options(DType::kF16, LandmarkKind::kMean);
  options.shape.head_dim = 0;
  CHECK_THROWS_WITH_AS(StoreWriter::Create(dir.str(), options), doctest::Contains("head dim"), Error);
  options = Options(DType::kF16, LandmarkKind::kLearned);
  options.shape.landmark_heads = 0;
  CHECK_THROWS_WITH_AS(StoreWriter::Create(dir.str(), options), doctest::Contains("landmark heads"), Error);
  options = Options(DType::kF16, LandmarkKind::kLearned);
  StoreWriter writer = StoreWriter::Create(dir.str(), options);
  test::Batch b(options.shape, 0, 20, 0, true);
  b.batch.landmark_chunks = 0;
  CHECK_THROWS_WITH_AS(writer.Append(b.batch), doctest::Contains("one landmark per chunk"), Error);
  std::vector<uint32_t> bad_ends(20, 5);
  bad_ends[7] = 2;  // out of order
  test::Batch unordered(options.shape, 0, 20, 0, true);
  unordered.batch.token_text_end = bad_ends.data();
  CHECK_THROWS_WITH_AS(writer.Append(unordered.batch), doctest::Contains("token_text_end[7]"), Error);
  CHECK_NOTHROW(writer.Commit());  // a refused batch changes nothing
  CHECK(writer.info().tokens == 0);
  TempStoreDir plain("plain");
  StoreWriter no_text = StoreWriter::Create(plain.str(), Options(DType::kF16, LandmarkKind::kMean, false));
  test::Batch with_text(options.shape, 0, 3, 0, true);
  with_text.batch.landmarks = nullptr;
  CHECK_THROWS_WITH_AS(no_text.Append(with_text.batch), doctest::Contains("without text"), Error);
  CHECK_THROWS_WITH_AS(StoreReader::Open(plain.str()).chunk(0, 0), doctest::Contains("out of range"), Error);
}

}  // namespace
}  // namespace landmark
