# install.cmake - what `make install PREFIX=...` (cmake --install) puts in place: the kiln
# command, libkilnrt static and shared, include/kiln, kilnrt.pc and the CMake package kilnrt
# (kilnrt::kilnrt, kilnrt::kilnrt_static). Included at the end of the top-level CMakeLists.txt
# and refers to the targets there by name. docs/install.md describes the installed tree.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The shared runtime: the static library's sources compiled again as position-independent
# code, so the archive the tests and the kiln command link stays exactly as it was. Include
# paths, definitions, options and link libraries follow kilnrt's (evaluated at generate time).
# Before 1.0 a minor version may change the ABI (struct kiln_model and friends are public), so
# the SONAME carries major.minor until then.
get_target_property(KILN_RT_SOURCES kilnrt SOURCES)
add_library(kilnrt_shared SHARED ${KILN_RT_SOURCES})
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(KILNRT_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  set(KILNRT_COMPATIBILITY SameMinorVersion)
else()
  set(KILNRT_SOVERSION ${PROJECT_VERSION_MAJOR})
  set(KILNRT_COMPATIBILITY SameMajorVersion)
endif()
set_target_properties(kilnrt_shared PROPERTIES
  OUTPUT_NAME kilnrt
  EXPORT_NAME kilnrt
  VERSION ${PROJECT_VERSION}
  SOVERSION ${KILNRT_SOVERSION}
  INCLUDE_DIRECTORIES "$<TARGET_PROPERTY:kilnrt,INCLUDE_DIRECTORIES>"
  COMPILE_DEFINITIONS "$<TARGET_PROPERTY:kilnrt,COMPILE_DEFINITIONS>"
  COMPILE_OPTIONS "$<TARGET_PROPERTY:kilnrt,COMPILE_OPTIONS>")
target_include_directories(kilnrt_shared INTERFACE $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>)
target_link_libraries(kilnrt_shared PRIVATE $<TARGET_PROPERTY:kilnrt,LINK_LIBRARIES>)
# a library must not leave symbols for the program to provide (-lm, say)
target_link_options(kilnrt_shared PRIVATE -Wl,--no-undefined)
set_target_properties(kilnrt PROPERTIES EXPORT_NAME kilnrt_static)

install(TARGETS kiln RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS kilnrt kilnrt_shared EXPORT kilnrt-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# the whole folder: every public header and the .def lists they include
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/kiln DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# CMake package: find_package(kilnrt [VERSION]) from <prefix>/lib/cmake/kilnrt.
set(KILNRT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/kilnrt)
install(EXPORT kilnrt-targets NAMESPACE kilnrt:: FILE kilnrtTargets.cmake
  DESTINATION ${KILNRT_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/kilnrtConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY ${KILNRT_COMPATIBILITY})
install(FILES ${CMAKE_SOURCE_DIR}/cmake/kilnrtConfig.cmake
  ${CMAKE_BINARY_DIR}/kilnrtConfigVersion.cmake DESTINATION ${KILNRT_CMAKE_DIR})

# kilnrt.pc is written at install time, not at configure time, so that it names the prefix
# actually installed to (`cmake --install build --prefix DIR` overrides the configured one).
install(CODE "
  set(KILNRT_PC_IN \"${CMAKE_SOURCE_DIR}/cmake/kilnrt.pc.in\")
  set(KILNRT_PC_OUT \"${CMAKE_BINARY_DIR}/kilnrt.pc\")
  set(KILNRT_VERSION \"${PROJECT_VERSION}\")
  set(KILNRT_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(KILNRT_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  include(\"${CMAKE_SOURCE_DIR}/cmake/install_pc.cmake\")")
