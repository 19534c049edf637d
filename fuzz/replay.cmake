# Corpus replay under CTest (label fuzz-replay), with whatever compiler builds
# the tests: each fuzz target is linked with fuzz/replay.c instead of
# libFuzzer and run over fuzz/corpus/<target>/. Included from tests/CMakeLists.txt.
include(${CMAKE_SOURCE_DIR}/fuzz/fuzzlib.cmake)
tfs_fuzz_library(tfs_fuzzmode)
foreach(t ${TFS_FUZZ_TARGETS})
  tfs_fuzz_executable(replay_${t} ${t} tfs_fuzzmode ${CMAKE_SOURCE_DIR}/fuzz/replay.c)
  add_test(NAME fuzz_replay_${t} COMMAND replay_${t} ${CMAKE_SOURCE_DIR}/fuzz/corpus/${t})
  set_tests_properties(fuzz_replay_${t} PROPERTIES LABELS fuzz-replay)
endforeach()
