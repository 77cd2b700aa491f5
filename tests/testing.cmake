# vp_unit_test(NAME SOURCES... LIBS lib...): a cmocka test binary, one ctest case.
# Unit tests do no I/O beyond memory; they carry the label "unit".
function(vp_unit_test name)
  if(BUILD_FUZZERS)
    return() # the fuzz build runs fuzz targets only
  endif()
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

# vp_case_test(NAME SOURCES... LIBS... LABELS...): a cmocka binary whose main
# passes argv[1] to cmocka_set_test_filter; one ctest per cmocka case (found in
# the sources, so a new case is registered without editing CMake).
function(vp_case_test name)
  if(BUILD_FUZZERS)
    return()
  endif()
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS;ENV" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  foreach(src ${T_SOURCES})
    get_filename_component(abs ${src} ABSOLUTE)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${abs})
    file(STRINGS ${abs} lines REGEX "cmocka_unit_test[a-z_]*\\(test_[a-z0-9_]+")
    foreach(line ${lines})
      string(REGEX REPLACE ".*cmocka_unit_test[a-z_]*\\((test_[a-z0-9_]+).*" "\\1" case "${line}")
      add_test(NAME ${name}.${case} COMMAND ${name} ${case})
      # a filter that matches no case would pass with 0 tests run: fail instead
      set_tests_properties(${name}.${case} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
        FAIL_REGULAR_EXPRESSION "PASSED  \\] 0 test"
        ENVIRONMENT "VP_BINARY=$<TARGET_FILE:virtportal>;VP_SOURCE_DIR=${CMAKE_SOURCE_DIR};VP_FIXTURES=${CMAKE_SOURCE_DIR}/../shared/fixtures;${T_ENV}")
    endforeach()
  endforeach()
endfunction()
