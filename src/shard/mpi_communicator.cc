// MPI_COMM_WORLD as a Communicator (built with -DLANDMARK_MPI=ON; without
// it, MpiWorld() explains how to get it). MPI is initialised on first use
// (MPI_THREAD_FUNNELED: only the calling thread talks to MPI; oneTBB's
// workers never do) and finalised at exit when landmark initialised it.
#include <climits>
#include <mutex>
#include <string>

#include "landmark/error.h"
#include "landmark/shard.h"

#if LANDMARK_MPI
#define OMPI_SKIP_MPICXX 1  // the C API only: no libmpi_cxx
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace landmark {

#if LANDMARK_MPI
namespace {

void Check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  LANDMARK_THROW(std::string("mpi: ") + what + ": " + std::string(text, size_t(length)));
}

int Count(size_t bytes) {
  LANDMARK_CHECK_ARG(bytes <= size_t(INT_MAX), "mpi: a message of " + std::to_string(bytes) + " bytes is too large");
  return int(bytes);
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      Check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owner_ = true;
    }
    // Errors come back as codes (thrown here) rather than aborting the job.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank = 0, size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    rank_ = size_t(rank);
    size_ = size_t(size);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owner_ && !finalized) MPI_Finalize();
  }
  size_t rank() const override { return rank_; }
  size_t size() const override { return size_; }
  void Broadcast(void* data, size_t bytes, size_t root) override {
    Check(MPI_Bcast(data, Count(bytes), MPI_BYTE, int(root), MPI_COMM_WORLD), "MPI_Bcast");
  }
  void Allgather(const void* send, size_t bytes, void* receive) override {
    Check(MPI_Allgather(send, Count(bytes), MPI_BYTE, receive, Count(bytes), MPI_BYTE, MPI_COMM_WORLD), "MPI_Allgather");
  }
  void Gather(const void* send, size_t bytes, void* receive, size_t root) override {
    Check(MPI_Gather(send, Count(bytes), MPI_BYTE, receive, Count(bytes), MPI_BYTE, int(root), MPI_COMM_WORLD),
          "MPI_Gather");
  }
  void Barrier() override { Check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

 private:
  bool owner_ = false;
  size_t rank_ = 0, size_ = 1;
};

}  // namespace

bool MpiBuilt() { return true; }

Communicator& MpiWorld() {
  static MpiCommunicator world;  // finalised by its destructor at exit
  return world;
}

#else

bool MpiBuilt() { return false; }

Communicator& MpiWorld() {
  LANDMARK_THROW("this landmark was built without MPI (install libopenmpi-dev and configure with -DLANDMARK_MPI=ON)");
}

#endif

}  // namespace landmark
