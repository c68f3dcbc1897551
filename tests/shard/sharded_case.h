// Sharded stores against one process over the whole store: the cases and
// the check, shared by the thread-rank test (test_shard) and the MPI test
// (test_shard_mpi, run by mpirun).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "landmark/retriever.h"
#include "landmark/shard.h"

namespace landmark::test {

struct ShardStoreCase {
  DType dtype = DType::kF32;
  LandmarkKind kind = LandmarkKind::kMean;
  size_t n = 203, S = 16, H = 2, d = 32, LH = 2, R = 24;  // LH, R: learned only
  uint64_t seed = 1;
};

struct ShardQueryCase {
  size_t G = 2, k = 3, window = 0, sinks = 0, queries = 1;
  size_t position = kLastPosition;
  Fusion fusion = Fusion::kJoint;
  RetrievalWeights weights = RetrievalWeights::kSoftmax;
  bool softmax1 = false, given_r = false;
};

std::vector<ShardStoreCase> ShardStoreCases();
std::vector<ShardQueryCase> ShardQueryCases(const ShardStoreCase& store);
std::string Describe(const ShardStoreCase& s, const ShardQueryCase& q);

// The whole store in `whole` and the same tokens in `shards` shards under
// `prefix` (split at chunk boundaries as `ingest --shards` does).
void WriteShardedStores(const ShardStoreCase& c, const std::string& whole, const std::string& prefix, size_t shards);

// Collective: every rank runs the sharded query; rank 0 checks (doctest
// CHECKs) its selections and outputs against a Retriever over `whole`.
void CheckShardedQuery(Communicator& comm, const ShardStoreCase& s, const ShardQueryCase& q, const std::string& whole,
                       const std::string& prefix);

}  // namespace landmark::test
