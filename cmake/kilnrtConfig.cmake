# kilnrtConfig.cmake - find_package(kilnrt): the kiln runtime library.
#   kilnrt::kilnrt         the shared library (libkilnrt.so)
#   kilnrt::kilnrt_static  the static library (libkilnrt.a; brings -lm along)
# Both put <prefix>/include on the include path: #include <kiln/bundle.h>.
include(CMakeFindDependencyMacro)
find_dependency(Threads) # the runtime's thread pool
include("${CMAKE_CURRENT_LIST_DIR}/kilnrtTargets.cmake")
