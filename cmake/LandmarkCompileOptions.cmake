# Warnings and sanitizers, applied per target through landmark_set_options().

set(LANDMARK_WARNINGS -Wall -Wextra)
# GCC 12 at -O2/-O3 reports false -Wrestrict overlaps inside std::string
# concatenation (GCC bugs 105329, 105651; fixed in 13).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND LANDMARK_WARNINGS -Wno-restrict)
endif()

set(LANDMARK_SANITIZER_FLAGS "")
if(LANDMARK_SANITIZE)
  string(REPLACE "," ";" _sanitizers "${LANDMARK_SANITIZE}")
  foreach(s IN LISTS _sanitizers)
    if(NOT s MATCHES "^(address|undefined|thread)$")
      message(FATAL_ERROR "LANDMARK_SANITIZE: unknown sanitizer '${s}' "
                          "(use address, undefined, thread, or a comma list)")
    endif()
  endforeach()
  if("thread" IN_LIST _sanitizers AND "address" IN_LIST _sanitizers)
    message(FATAL_ERROR "LANDMARK_SANITIZE: thread and address cannot be combined")
  endif()
  set(LANDMARK_SANITIZER_FLAGS -fsanitize=${LANDMARK_SANITIZE} -fno-omit-frame-pointer
                               -fno-sanitize-recover=all)
  message(STATUS "landmark: sanitizers ${LANDMARK_SANITIZE}")
endif()

function(landmark_set_options target)
  target_compile_options(${target} PRIVATE ${LANDMARK_WARNINGS} ${LANDMARK_SANITIZER_FLAGS})
  target_link_options(${target} PRIVATE ${LANDMARK_SANITIZER_FLAGS})
endfunction()
