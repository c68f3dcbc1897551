# Every dependency comes from a Debian package (scripts/setup.sh installs them).
find_package(hwy 1.0 REQUIRED)           # libhwy-dev: hwy::hwy, hwy::hwy_contrib
find_package(TBB REQUIRED)               # libtbb-dev: TBB::tbb
find_package(dnnl 2.6 REQUIRED)          # libdnnl-dev (+ ocl-icd-opencl-dev, which its config requires)
find_package(CLI11 REQUIRED)             # libcli11-dev
find_package(fmt REQUIRED)               # libfmt-dev
find_package(nlohmann_json 3 REQUIRED)   # nlohmann-json3-dev
find_package(tomlplusplus 3 REQUIRED)    # libtomlplusplus-dev: configs (TOML)
find_package(PkgConfig REQUIRED)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)  # libxxhash-dev (no CMake config)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)   # libpcre2-dev: tokenizer pre-tokenizer regexes
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)  # libutf8proc-dev: NFC and Unicode classes
find_package(SQLite3 REQUIRED)           # libsqlite3-dev: FTS5, the baseline of `landmark bench text` (perf only)
find_package(ZLIB REQUIRED)              # zlib1g-dev: .gz inputs and the demo's held-out text (train/data/heldout.txt.gz)
find_package(Threads REQUIRED)
# Open MPI (libopenmpi-dev, openmpi-bin): sharded stores over ranks
# (include/landmark/shard.h). ON when found; OFF builds without it.
find_package(MPI QUIET COMPONENTS C)
option(LANDMARK_MPI "Sharded stores over MPI (needs libopenmpi-dev)" ${MPI_C_FOUND})
if(LANDMARK_MPI)
  find_package(MPI REQUIRED COMPONENTS C)
  find_program(LANDMARK_MPIEXEC NAMES mpirun mpiexec HINTS ${MPIEXEC_EXECUTABLE})
  message(STATUS "landmark: MPI ${MPI_C_VERSION} (sharded stores), ${LANDMARK_MPIEXEC}")
endif()
if(NOT LANDMARK_SANITIZE)
  find_package(mimalloc REQUIRED)        # libmimalloc-dev; not under sanitizers
endif()
if(LANDMARK_BUILD_TESTS)
  find_package(doctest REQUIRED)         # doctest-dev
endif()
if(LANDMARK_BUILD_PERF)
  find_package(benchmark REQUIRED)       # libbenchmark-dev
endif()
find_package(Python3 COMPONENTS Interpreter)
