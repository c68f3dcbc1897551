// Sharded stores with ranks as threads (no MPI needed): the sharded query
// equals one process over the whole store — selections exactly, outputs
// within f32 rounding — for every fusion, landmark kind and dtype, 1 to 4
// shards; errors reach every rank.
#include <doctest/doctest.h>

#include <filesystem>
#include <thread>

#include "landmark/error.h"
#include "landmark/shard.h"
#include "tests/shard/sharded_case.h"
#include "tests/temp_dir.h"

namespace landmark {
namespace {

// Runs body(comm) on `ranks` threads; the exceptions they throw, per rank.
template <class Body>
std::vector<std::string> OnThreads(size_t ranks, const Body& body) {
  auto comms = ThreadCommunicators(ranks);
  std::vector<std::string> errors(ranks);
  std::vector<std::thread> threads;
  for (size_t r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      try {
        body(*comms[r]);
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return errors;
}

TEST_CASE("sharded query = one process over the whole store (thread ranks)") {
  for (const test::ShardStoreCase& s : test::ShardStoreCases()) {
    for (size_t ranks : {1, 2, 3, 4}) {
      test::TempDir dir("shard");
      const std::string whole = dir.str() + "/whole", prefix = dir.str() + "/sharded";
      test::WriteShardedStores(s, whole, prefix, ranks);
      for (const test::ShardQueryCase& q : test::ShardQueryCases(s)) {
        INFO(ranks, " ranks: ", test::Describe(s, q));
        const auto errors = OnThreads(ranks, [&](Communicator& comm) { test::CheckShardedQuery(comm, s, q, whole, prefix); });
        for (const std::string& e : errors) CHECK(e.empty());
      }
    }
  }
}

TEST_CASE("sharded store errors reach every rank") {
  test::TempDir dir("shard-errors");
  const std::string whole = dir.str() + "/whole", prefix = dir.str() + "/sharded";
  test::ShardStoreCase s;
  test::WriteShardedStores(s, whole, prefix, 2);
  RetrieverConfig config;
  SUBCASE("a missing shard") {
    const auto errors = OnThreads(3, [&](Communicator& comm) { ShardedRetriever(prefix, config, comm); });
    for (const std::string& e : errors) CHECK(e.find("rank 2") != std::string::npos);
  }
  SUBCASE("a partial chunk before the last shard") {
    const std::string one = dir.str() + "/one", bad = dir.str() + "/bad";
    test::WriteShardedStores(s, dir.str() + "/whole-1", one, 1);  // 203 tokens: ends in a partial chunk
    std::filesystem::create_directories(bad);
    std::filesystem::rename(ShardPath(one, 0), ShardPath(bad, 0));
    std::filesystem::rename(ShardPath(prefix, 1), ShardPath(bad, 1));
    const auto errors = OnThreads(2, [&](Communicator& comm) { ShardedRetriever(bad, config, comm); });
    for (const std::string& e : errors) CHECK(e.find("partial chunk") != std::string::npos);
  }
  SUBCASE("another shape") {
    test::ShardStoreCase other = s;
    other.d = 16;
    test::WriteShardedStores(other, dir.str() + "/whole-16", dir.str() + "/other", 2);
    std::filesystem::rename(ShardPath(dir.str() + "/other", 1), ShardPath(prefix, 2));
    const auto errors = OnThreads(3, [&](Communicator& comm) { ShardedRetriever(prefix, config, comm); });
    for (const std::string& e : errors) CHECK(e.find("another shape") != std::string::npos);
  }
  SUBCASE("a query past the store") {
    const auto errors = OnThreads(2, [&](Communicator& comm) {
      ShardedRetriever r(prefix, config, comm);
      std::vector<float> q(s.H * s.d, 1.0f);
      RetrievalQuery query;
      query.q = q.data();
      query.position = s.n + 5;
      r.QueryBatch({query});
    });
    for (const std::string& e : errors) CHECK(e.find("past the store") != std::string::npos);
  }
}

TEST_CASE("thread communicator collectives") {
  const auto errors = OnThreads(3, [](Communicator& comm) {
    int value = comm.rank() == 1 ? 42 : 0;
    comm.Broadcast(&value, sizeof(value), 1);
    if (value != 42) throw std::runtime_error("broadcast");
    const int mine = int(comm.rank()) * 10;
    std::vector<int> all(comm.size());
    comm.Allgather(&mine, sizeof(mine), all.data());
    if (all != std::vector<int>{0, 10, 20}) throw std::runtime_error("allgather");
    std::vector<int> gathered(comm.rank() == 2 ? comm.size() : 0);
    comm.Gather(&mine, sizeof(mine), gathered.data(), 2);
    if (comm.rank() == 2 && gathered != std::vector<int>{0, 10, 20}) throw std::runtime_error("gather");
    comm.Barrier();
  });
  for (const std::string& e : errors) CHECK(e.empty());
}

TEST_CASE("ShardPath") { CHECK(ShardPath("/data/corpus", 3) == "/data/corpus/shard-00003"); }

}  // namespace
}  // namespace landmark
