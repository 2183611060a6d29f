# The installable package: libempi.so and libempi.a built from the objects
# of the libraries below, the public headers (engine/include/empi/), the
# `empi` tool, empiConfig.cmake exporting empi::empi (shared) and
# empi::empi_static, and empi.pc.
#
#   cmake --install build --prefix /opt/empi
#   find_package(empi REQUIRED)   # CMAKE_PREFIX_PATH=/opt/empi
#   target_link_libraries(service PRIVATE empi::empi)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(EMPI_PACKAGE_LIBRARIES empi_core empi_matchers empi_index empi_feed empi_model empi_linkage
    empi_contributor_register empi_objection_form empi_engine empi_batch
    empi_capi)

# The non-EMPI link dependencies of `libs` and everything they link.
function(empi_external_deps out)
  set(todo ${ARGN})
  set(seen)
  set(external)
  while(todo)
    list(POP_FRONT todo lib)
    if(lib IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${lib})
    if(lib MATCHES "^empi_")
      get_target_property(deps ${lib} INTERFACE_LINK_LIBRARIES)
      if(deps)
        list(APPEND todo ${deps})
      endif()
    else()
      list(APPEND external ${lib})
    endif()
  endwhile()
  set(${out} ${external} PARENT_SCOPE)
endfunction()
empi_external_deps(EMPI_EXTERNAL_DEPS ${EMPI_PACKAGE_LIBRARIES})

set(objects)
foreach(lib ${EMPI_PACKAGE_LIBRARIES})
  list(APPEND objects $<TARGET_OBJECTS:${lib}>)
endforeach()
set(public_includes
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/engine/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

# Debian's RocksDB::rocksdb is librocksdb.a, built without -fPIC: the
# shared library links librocksdb.so instead.
set(EMPI_SHARED_DEPS ${EMPI_EXTERNAL_DEPS})
list(TRANSFORM EMPI_SHARED_DEPS REPLACE "^RocksDB::rocksdb$" "RocksDB::rocksdb-shared")

add_library(empi_shared SHARED ${objects})
set_target_properties(empi_shared PROPERTIES OUTPUT_NAME empi EXPORT_NAME empi
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
target_include_directories(empi_shared INTERFACE ${public_includes})
target_link_libraries(empi_shared PUBLIC absl::status absl::statusor PRIVATE ${EMPI_SHARED_DEPS})
# Every symbol defined: a user links libempi.so and nothing else of ours.
target_link_options(empi_shared PRIVATE -Wl,--no-undefined)

add_library(empi_static STATIC ${objects})
set_target_properties(empi_static PROPERTIES OUTPUT_NAME empi EXPORT_NAME empi_static)
target_include_directories(empi_static INTERFACE ${public_includes})
target_link_libraries(empi_static PUBLIC absl::status absl::statusor PRIVATE ${EMPI_EXTERNAL_DEPS})

install(TARGETS empi_shared empi_static EXPORT empiTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS empi RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/engine/include/empi DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/empi)
install(EXPORT empiTargets NAMESPACE empi:: DESTINATION ${cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/empiConfig.cmake.in
  ${PROJECT_BINARY_DIR}/empiConfig.cmake INSTALL_DESTINATION ${cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/empiConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/empiConfig.cmake ${PROJECT_BINARY_DIR}/empiConfigVersion.cmake
  DESTINATION ${cmake_dir})

# pkg-config: -lempi (shared); `pkg-config --static` adds what libempi.a
# needs. The prefix is computed from the file's own place, so the package
# may be moved or installed with --prefix.
file(RELATIVE_PATH EMPI_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" EMPI_PC_TO_PREFIX "${EMPI_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/empi.pc.in ${PROJECT_BINARY_DIR}/empi.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/empi.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
