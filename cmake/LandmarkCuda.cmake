# The CUDA backend (-DLANDMARK_CUDA=ON): nvcc from CMAKE_CUDA_COMPILER, or
# /usr/local/cuda/bin/nvcc. Code for sm_80 (A100) and sm_90 (H100/H200) plus
# PTX of sm_90 for later GPUs; override with -DCMAKE_CUDA_ARCHITECTURES.
# The backend is a shared library with the CUDA runtime linked statically,
# loaded by the core with dlopen: the CPU library and the CLI never link CUDA.
if(NOT LANDMARK_CUDA)
  return()
endif()
if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
endif()
if(NOT CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 80-real 90-real 90-virtual)
endif()
include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  message(FATAL_ERROR "LANDMARK_CUDA=ON: no CUDA compiler found (set CMAKE_CUDA_COMPILER or put nvcc on PATH)")
endif()
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)  # CUDA::cudart_static
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
message(STATUS "landmark: CUDA backend with nvcc ${CMAKE_CUDA_COMPILER_VERSION}, "
               "architectures ${CMAKE_CUDA_ARCHITECTURES}")
