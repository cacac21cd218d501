# sbs_add_python_tests(FILE test_e2e.py LABEL e2e)
#
# Registers every `def test_...` of a Python unittest file as its own ctest test, named
# <step>.<label>.<what it checks> (e.g. 01_tcp_basic.e2e.a_silent_caller_is_dropped), so that
# ctest lists, times out and runs in parallel each specification on its own. The tests find the
# built programs through SBS_BUILD_DIR. Exit code 77 means "skipped" (a tool is missing).
function(sbs_add_python_tests)
  cmake_parse_arguments(ARG "" "FILE;LABEL" "" ${ARGN})
  get_filename_component(step ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  set(file ${CMAKE_CURRENT_SOURCE_DIR}/${ARG_FILE})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
  file(STRINGS ${file} lines REGEX "^(class [A-Za-z0-9_]+|    def test_[A-Za-z0-9_]+)")
  set(class "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^class ([A-Za-z0-9_]+)")
      set(class ${CMAKE_MATCH_1})
    elseif(line MATCHES "def test_([A-Za-z0-9_]+)")
      set(name ${step}.${ARG_LABEL}.${CMAKE_MATCH_1})
      add_test(NAME ${name} COMMAND ${Python3_EXECUTABLE} ${file} ${class}.test_${CMAKE_MATCH_1})
      set_tests_properties(${name} PROPERTIES
        LABELS ${ARG_LABEL}
        TIMEOUT 60
        SKIP_RETURN_CODE 77
        ENVIRONMENT "SBS_BUILD_DIR=${CMAKE_BINARY_DIR};PYTHONPATH=${CMAKE_SOURCE_DIR}/testing;PYTHONDONTWRITEBYTECODE=1")
    endif()
  endforeach()
endfunction()
