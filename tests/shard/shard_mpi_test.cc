// Sharded stores over Open MPI (run by ctest as `mpirun -np 2` and
// `mpirun -np 3 --oversubscribe`): each rank is a process holding one
// shard; rank 0 checks every sharded query against one process over the
// whole store. Only rank 0 reports; every rank exits with rank 0's status.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "landmark/shard.h"
#include "tests/shard/sharded_case.h"
#include "tests/temp_dir.h"

namespace landmark {
namespace {

// A directory every rank sees (rank 0 names it and removes it).
struct SharedDir {
  std::unique_ptr<test::TempDir> owned;
  std::string path;
  explicit SharedDir(Communicator& comm) {
    char name[512] = {0};
    if (comm.rank() == 0) {
      owned = std::make_unique<test::TempDir>("shard-mpi");
      std::snprintf(name, sizeof(name), "%s", owned->str().c_str());
    }
    comm.Broadcast(name, sizeof(name), 0);
    path = name;
  }
};

TEST_CASE("sharded query over MPI = one process over the whole store") {
  Communicator& comm = MpiWorld();
  REQUIRE(comm.size() >= 2);
  for (const test::ShardStoreCase& s : test::ShardStoreCases()) {
    SharedDir dir(comm);
    const std::string whole = dir.path + "/whole", prefix = dir.path + "/sharded";
    if (comm.rank() == 0) test::WriteShardedStores(s, whole, prefix, comm.size());
    comm.Barrier();
    for (const test::ShardQueryCase& q : test::ShardQueryCases(s)) test::CheckShardedQuery(comm, s, q, whole, prefix);
    comm.Barrier();  // before rank 0 removes the stores
  }
}

TEST_CASE("a missing shard fails on every rank") {
  Communicator& comm = MpiWorld();
  SharedDir dir(comm);
  const std::string prefix = dir.path + "/sharded";
  if (comm.rank() == 0) test::WriteShardedStores(test::ShardStoreCase{}, dir.path + "/whole", prefix, comm.size() - 1);
  comm.Barrier();
  std::string error;
  try {
    ShardedRetriever(prefix, RetrieverConfig{}, comm);
  } catch (const std::exception& e) {
    error = e.what();
  }
  CHECK(error.find("rank " + std::to_string(comm.size() - 1)) != std::string::npos);
  comm.Barrier();
}

}  // namespace
}  // namespace landmark

int main(int argc, char** argv) {
  landmark::Communicator& comm = landmark::MpiWorld();
  doctest::Context context(argc, argv);
  std::ofstream quiet;
  if (comm.rank() != 0) {
    quiet.open("/dev/null");
    context.setCout(&quiet);
  }
  int status = context.run();
  // Other ranks' failures (their CHECKs) count too.
  std::vector<int> all(comm.size());
  comm.Allgather(&status, sizeof(status), all.data());
  for (int s : all) status = std::max(status, s);
  return status;
}
