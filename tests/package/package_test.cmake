# The installable package, as a service team would use it (ctest -R
# package_): installs the build to a fresh prefix, checks that the
# installed headers include nothing outside <empi/...>, the standard library
# and Abseil's status types, then configures, builds and runs the examples
# against that prefix only (find_package(empi) and pkg-config).
#
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=Ninja -P package_test.cmake
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} not set")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "ok: ${ARGN}\n${out}")
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# What is installed.
file(GLOB_RECURSE installed RELATIVE ${prefix} ${prefix}/*)
foreach(expected include/empi/engine.h include/empi/c.h include/empi/link.h lib/libempi.a lib/libempi.so
                 lib/cmake/empi/empiConfig.cmake lib/cmake/empi/empiTargets.cmake lib/pkgconfig/empi.pc bin/empi)
  if(NOT EXISTS ${prefix}/${expected})
    message(FATAL_ERROR "not installed: ${expected}\ninstalled: ${installed}")
  endif()
endforeach()

# The headers' includes: <empi/...>, Abseil's status types, or a standard
# header (no directory part: <string>, <cstdint>, <stddef.h>).
file(GLOB_RECURSE headers ${prefix}/include/*)
foreach(h ${headers})
  file(RELATIVE_PATH rel ${prefix}/include ${h})
  if(NOT rel MATCHES "^empi/[a-z_]+\\.h$")
    message(FATAL_ERROR "installed header outside include/empi/: ${rel}")
  endif()
  file(STRINGS ${h} lines REGEX "^[ \t]*#[ \t]*include")
  foreach(line ${lines})
    if(NOT line MATCHES "#[ \t]*include[ \t]*([<\"])([^>\"]+)[>\"]")
      message(FATAL_ERROR "${rel}: unreadable include: ${line}")
    endif()
    set(delim "${CMAKE_MATCH_1}")
    set(inc ${CMAKE_MATCH_2})
    if(inc MATCHES "^empi/" OR inc MATCHES "^absl/status/(status|statusor)\\.h$")
      continue()
    endif()
    if(delim STREQUAL "<" AND NOT inc MATCHES "/")
      continue()
    endif()
    message(FATAL_ERROR "${rel} includes ${inc}: outside empi/, the standard library and Abseil's status types")
  endforeach()
endforeach()

run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/consumer -B ${WORK_DIR}/build -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix} -DEMPI_EXAMPLES_DIR=${SOURCE_DIR}/examples)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build -j 2)
file(MAKE_DIRECTORY ${WORK_DIR}/run/shared ${WORK_DIR}/run/static ${WORK_DIR}/run/c)
run(${WORK_DIR}/build/examples/service_example ${WORK_DIR}/run/shared/db)
run(${WORK_DIR}/build/examples/service_example_static ${WORK_DIR}/run/static/db)
run(${WORK_DIR}/build/examples/c_example ${WORK_DIR}/run/c)
file(REMOVE_RECURSE ${WORK_DIR})
