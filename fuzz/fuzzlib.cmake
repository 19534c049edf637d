# Shared by fuzz/CMakeLists.txt (libFuzzer builds) and fuzz/replay.cmake
# (corpus replay under CTest): the list of targets, and a copy of the library
# compiled with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, which accepts every
# stored CRC32C so that mutated inputs reach the code behind the checksums.
# Never link that copy into anything that reads real models.
set(TFS_FUZZ_TARGETS saved_model_pb pbtext table bundle object_graph shrink)

function(tfs_fuzz_library name)
  add_library(${name} STATIC ${TFS_SOURCES} $<TARGET_OBJECTS:tfs_proto>)
  target_compile_definitions(${name} PUBLIC FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
  target_include_directories(${name} PUBLIC $<TARGET_PROPERTY:tfs_internal,INTERFACE_INCLUDE_DIRECTORIES>)
  target_link_libraries(${name} PUBLIC PkgConfig::PROTOBUFC ${SNAPPY_LIBRARY} Threads::Threads m)
endfunction()

# fuzz_<target>.c plus the helpers; the caller adds the entry point's driver.
function(tfs_fuzz_executable exe target lib)
  add_executable(${exe} ${CMAKE_SOURCE_DIR}/fuzz/fuzz_${target}.c ${CMAKE_SOURCE_DIR}/fuzz/fuzz_util.c ${ARGN})
  target_include_directories(${exe} PRIVATE ${CMAKE_SOURCE_DIR}/fuzz)
  target_compile_definitions(${exe} PRIVATE TFS_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  target_link_libraries(${exe} PRIVATE ${lib})
endfunction()
