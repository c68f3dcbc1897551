// Sharded stores: one chunk store split into N shards of contiguous chunks,
// one per rank (an Open MPI process, or a thread in tests), for corpora
// that outgrow one machine. Shard r is the directory PREFIX/shard-0000r,
// an ordinary store; together, in rank order, they are the whole store
// (only the last shard may end in a partial chunk).
//
// A sharded query (ShardedRetriever::QueryBatch) runs on every rank:
//   1. rank 0's queries are broadcast;
//   2. each rank scores its own landmarks and keeps a local top-k per
//      selection head;
//   3. the global top-k is agreed by an allgather of (score, rank, chunk):
//      every rank merges the same lists into the same selection;
//   4. each rank attends the selected chunks (sinks, local term) it holds
//      and returns a partial (output, lse) — joint fusion — or (Σ w_i·o_i,
//      local output and lse) — hsa;
//   5. rank 0 gathers and merges them.
// Selections equal those of one process over the whole store, outputs
// within f32 rounding. Bytes moved per query and rank: the query (H_q·d
// floats) in, k·LH (score, rank, chunk) triples both ways, H_q·(d+1)
// floats out — independent of the store's size.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "landmark/retriever.h"
#include "landmark/store.h"

namespace landmark {

// PREFIX/shard-00000 for rank 0, and so on.
std::string ShardPath(const std::string& prefix, size_t rank);

// Collective operations among the ranks of a group. Every rank calls the
// same operations in the same order with the same sizes.
class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual size_t rank() const = 0;
  virtual size_t size() const = 0;
  // data [bytes] of `root` to every rank.
  virtual void Broadcast(void* data, size_t bytes, size_t root) = 0;
  // receive [size()][bytes] = every rank's send [bytes], in rank order.
  virtual void Allgather(const void* send, size_t bytes, void* receive) = 0;
  // As Allgather, received by `root` only (receive may be null elsewhere).
  virtual void Gather(const void* send, size_t bytes, void* receive, size_t root) = 0;
  virtual void Barrier() = 0;
};

// Whether this landmark was built with Open MPI (-DLANDMARK_MPI=ON).
bool MpiBuilt();
// MPI_COMM_WORLD. MPI is initialised on first use unless the program did
// it already, and then finalised at exit. Throws landmark::Error without MPI.
Communicator& MpiWorld();
// n ranks in one process, each to be used by its own thread (tests, and a
// one-host run without MPI).
std::vector<std::unique_ptr<Communicator>> ThreadCommunicators(size_t n);

// Seconds spent in each step of the last QueryBatch on this rank.
struct ShardTimings {
  double broadcast = 0, select = 0, allgather = 0, attend = 0, gather = 0, combine = 0, total = 0;
  size_t bytes_sent = 0;  // by this rank, all steps
};

class ShardedRetriever {
 public:
  // Collective: every rank opens ShardPath(prefix, rank); an error on any
  // rank (a missing shard, a different shape, a partial chunk before the
  // last shard) is thrown on every rank. Runs on the CPU of each rank.
  ShardedRetriever(const std::string& prefix, const RetrieverConfig& config, Communicator& comm);
  ~ShardedRetriever();

  // Collective. The queries are rank 0's (other ranks' are ignored; pass
  // none); the results are returned on rank 0, an empty vector elsewhere.
  std::vector<RetrievalResult> QueryBatch(const std::vector<RetrievalQuery>& queries);

  const StoreReader& shard() const;   // this rank's
  size_t first_chunk() const;         // global id of its chunk 0
  size_t chunks() const;              // complete chunks of the whole store
  size_t tokens() const;              // tokens of the whole store
  const RetrieverConfig& config() const;
  Communicator& communicator() const;
  const ShardTimings& timings() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace landmark
