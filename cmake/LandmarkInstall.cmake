# `cmake --install`: the library (shared + static), headers, the CLI, a CMake
# package (find_package(landmark) -> landmark::landmark), a pkg-config file,
# the Python package, the presets and the examples.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# What the static library needs from the system (all Debian packages):
# pkg-config's view (landmark.pc) and, installed, the static target's link
# interface (the CMake packages found again by find_dependency in
# landmarkConfig.cmake; the others by name).
set(LANDMARK_STATIC_DEPENDENCIES hwy tbb dnnl xxhash tomlplusplus pcre2-8 utf8proc)
list(TRANSFORM LANDMARK_STATIC_DEPENDENCIES PREPEND "-l" OUTPUT_VARIABLE LANDMARK_STATIC_FLAGS)
set(static_interface hwy::hwy TBB::tbb DNNL::dnnl fmt::fmt ZLIB::ZLIB xxhash tomlplusplus pcre2-8 utf8proc
    ${CMAKE_DL_LIBS})
if(LANDMARK_MPI)  # Open MPI's libmpi (sharded stores), by path: Debian keeps it off the linker's path
  list(APPEND LANDMARK_STATIC_DEPENDENCIES ${MPI_C_LIBRARIES})
  list(APPEND LANDMARK_STATIC_FLAGS ${MPI_C_LIBRARIES})
  list(APPEND static_interface ${MPI_C_LIBRARIES})
endif()
string(REPLACE ";" " " LANDMARK_STATIC_FLAGS "${LANDMARK_STATIC_FLAGS}")

# Installed usage requirements (the build tree's come from landmark_objects).
foreach(library landmark_shared landmark_static)
  target_include_directories(${library} INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${library} INTERFACE $<INSTALL_INTERFACE:Threads::Threads>)
endforeach()
target_link_libraries(landmark_static INTERFACE "$<INSTALL_INTERFACE:${static_interface}>")
set_target_properties(landmark_shared PROPERTIES EXPORT_NAME landmark)
set_target_properties(landmark_static PROPERTIES EXPORT_NAME landmark_static)

install(TARGETS landmark_shared landmark_static EXPORT landmarkTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS landmark_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/landmark ${PROJECT_BINARY_DIR}/include/landmark
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")

set(config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/landmark)
install(EXPORT landmarkTargets NAMESPACE landmark:: DESTINATION ${config_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/landmarkConfig.cmake.in
  ${PROJECT_BINARY_DIR}/landmarkConfig.cmake INSTALL_DESTINATION ${config_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/landmarkConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/landmarkConfig.cmake ${PROJECT_BINARY_DIR}/landmarkConfigVersion.cmake
        DESTINATION ${config_dir})
configure_file(${PROJECT_SOURCE_DIR}/cmake/landmark.pc.in ${PROJECT_BINARY_DIR}/landmark.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/landmark.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The Python package, where the system's python3 looks (Debian: dist-packages),
# told where the library is relative to itself.
if(Python3_VERSION_MINOR)
  set(python_version ${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR})
else()
  set(python_version 3)
endif()
set(LANDMARK_PYTHON_DIR lib/python${python_version}/dist-packages CACHE STRING
    "Where `cmake --install` puts the Python package (relative to the prefix)")
file(RELATIVE_PATH library_from_package /prefix/${LANDMARK_PYTHON_DIR}/landmark
     /prefix/${CMAKE_INSTALL_LIBDIR}/liblandmark.so.${PROJECT_VERSION_MAJOR})
file(WRITE ${PROJECT_BINARY_DIR}/python/_installed.py
     "# Written by `cmake --install`: the library, relative to this package.\nLIBRARY = \"${library_from_package}\"\n")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/python/landmark DESTINATION ${LANDMARK_PYTHON_DIR}
        PATTERN "__pycache__" EXCLUDE)
install(FILES ${PROJECT_BINARY_DIR}/python/_installed.py DESTINATION ${LANDMARK_PYTHON_DIR}/landmark)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/configs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/landmark/configs)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DATADIR}/landmark/examples)
