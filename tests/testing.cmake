# vp_unit_test(NAME SOURCES... LIBS lib...): a cmocka test binary, one ctest case.
# Unit tests do no I/O beyond memory; they carry the label "unit".
function(vp_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  add_test(NAME ${name} COMMAND ${name})
  set(labels unit ${T_LABELS})
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT 120
    ENVIRONMENT "VP_FIXTURES=${CMAKE_SOURCE_DIR}/../shared/fixtures;VP_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()

# vp_fuzz_target(NAME SOURCES... LIBS lib... CORPUS dir): a libFuzzer target when
# BUILD_FUZZERS is on; its ctest case replays the corpus (and a bounded run).
function(vp_fuzz_target name)
  cmake_parse_arguments(T "" "CORPUS" "SOURCES;LIBS" ${ARGN})
  if(NOT BUILD_FUZZERS)
    return()
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  # new inputs go to a scratch dir in the build tree; the committed corpus is read only
  set(scratch ${CMAKE_CURRENT_BINARY_DIR}/${name}-new)
  file(MAKE_DIRECTORY ${scratch})
  add_test(NAME ${name} COMMAND ${name} -max_total_time=30 -timeout=10 -rss_limit_mb=1024
           ${scratch} ${T_CORPUS})
  set_tests_properties(${name} PROPERTIES LABELS fuzz TIMEOUT 300)
endfunction()
