// Machine limits measured at run time, so every benchmark can report its
// figures as a fraction of what this machine can do.
#pragma once

#include <cstddef>
#include <string>

namespace landmark {

struct MachineLimits {
  std::string cpu;           // model name (/proc/cpuinfo)
  std::string target;        // Highway target the kernels dispatch to
  size_t threads = 1;        // threads used for the "all" figures
  double read_gbps_one = 0;  // stream read bandwidth, 1 thread, GB/s (1e9 B/s)
  double read_gbps_all = 0;  // stream read bandwidth, all threads
  double fma_gflops_one = 0; // f32 FMA peak, 1 thread, GFLOP/s (FMA = 2 FLOP)
  double fma_gflops_all = 0; // f32 FMA peak, all threads
  double disk_write_gbps = 0; // sequential write + fdatasync (ProbeDiskWrite; 0: not probed)
};

struct ProbeOptions {
  size_t buffer_bytes = size_t(512) << 20;  // read buffer, well beyond the L3
  int repeats = 3;                          // best of
  double fma_seconds = 0.15;                // per FMA measurement
  size_t threads = 0;                       // 0: every CPU this process may use
};

MachineLimits ProbeMachine(const ProbeOptions& options = {});

// Sequential write bandwidth of the file system holding `dir`: writes
// `bytes` in 8 MiB blocks, fdatasync, deletes the file. GB/s (1e9 B/s).
// Throws landmark::Error if the file cannot be written.
double ProbeDiskWrite(const std::string& dir, size_t bytes = size_t(1) << 30);

}  // namespace landmark
