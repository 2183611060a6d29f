# empi_internal_includes(TARGET)
#   The repository top as a PRIVATE include root ("index/store.h",
#   "engine/linkage/linker.h"): internal headers are seen only by targets
#   that ask for them, never by a user of the installed package.
function(empi_internal_includes target)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR})
endfunction()

# empi_test_warnings(TARGET)
#   Warnings tests and benchmarks do not check. GCC 12's -Wrestrict reports
#   std::string concatenations with literals inside libstdc++ (char_traits.h,
#   GCC bug 105651) that overlap nothing; fixed in GCC 13. Test cases build
#   aggregates naming only the fields the case is about ({.family = "Smith"},
#   ObjectionRequest{nhs}) and mean the defaults for the rest. The libraries
#   keep both warnings.
function(empi_test_warnings target)
  target_compile_options(${target} PRIVATE -Wno-missing-field-initializers)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
endfunction()

# empi_cc_library(NAME name SRCS ... DEPS ...)
#   A static library (position-independent: its objects also go into the
#   shared libempi.so) whose only PUBLIC include root is engine/include, the
#   public <empi/...> headers; the repository top is PRIVATE.
function(empi_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(${ARG_NAME} STATIC ${ARG_SRCS})
  set_target_properties(${ARG_NAME} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${ARG_NAME} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/engine/include>)
  empi_internal_includes(${ARG_NAME})
  target_link_libraries(${ARG_NAME} PUBLIC ${ARG_DEPS})
endfunction()

# empi_cc_test(NAME name SRCS ... DEPS ...)
#   A GoogleTest binary registered with CTest, one CTest entry per test, run
#   in the source tree with EMPI_SOURCE_DIR and EMPI_BINARY_DIR set.
#
#   The environment is set by a CTest include file run after the discovered
#   tests are added, not through gtest_discover_tests(PROPERTIES ENVIRONMENT):
#   CMake (3.25) passes those properties to its discovery script as one
#   string and splits it on ';', escaped or not, so only the first variable
#   survived.
function(empi_cc_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  empi_internal_includes(${ARG_NAME})
  empi_test_warnings(${ARG_NAME})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  gtest_discover_tests(${ARG_NAME}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    TEST_LIST ${ARG_NAME}_TESTS
    DISCOVERY_TIMEOUT 60)
  set(env_script ${CMAKE_CURRENT_BINARY_DIR}/${ARG_NAME}_environment.cmake)
  file(WRITE ${env_script}
    "if(${ARG_NAME}_TESTS)\n"
    "  set_tests_properties(\${${ARG_NAME}_TESTS} PROPERTIES ENVIRONMENT\n"
    "    [==[EMPI_SOURCE_DIR=${PROJECT_SOURCE_DIR};EMPI_BINARY_DIR=${PROJECT_BINARY_DIR}]==])\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${env_script})
endfunction()

# empi_embed_file(OUT_CC SYMBOL FILE)
#   Generates a .cc defining `extern const std::string_view SYMBOL` holding the
#   bytes of FILE, so shipped data files (name tables, postcode districts) are
#   part of the binary and need no install path at run time.
function(empi_embed_file OUT_VAR SYMBOL FILE)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/embedded_${SYMBOL}.cc)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DIN=${FILE} -DOUT=${out} -DSYMBOL=${SYMBOL}
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedFile.cmake
    DEPENDS ${FILE} ${PROJECT_SOURCE_DIR}/cmake/EmbedFile.cmake
    COMMENT "Embedding ${FILE}")
  set(${OUT_VAR} ${out} PARENT_SCOPE)
endfunction()
