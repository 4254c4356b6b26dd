# Every dependency comes from Debian. A missing one stops configuration with the package to install.
function(lamppost_require found what package)
  if(NOT ${found})
    message(FATAL_ERROR "lamppost needs ${what}, which was not found: install the Debian package "
                        "'${package}' (apt-get install ${package}), or run the README's command.")
  endif()
endfunction()

find_package(xsimd 8 CONFIG QUIET)
lamppost_require(xsimd_FOUND "xsimd 8" libxsimd-dev)

find_package(fmt CONFIG QUIET)
lamppost_require(fmt_FOUND "fmt" libfmt-dev)

# The lamppost program (cli/): CLI11 parses its flags, nlohmann's JSON writes results.json.
find_package(CLI11 CONFIG QUIET)
lamppost_require(CLI11_FOUND "CLI11" libcli11-dev)

find_package(nlohmann_json 3 CONFIG QUIET)
lamppost_require(nlohmann_json_FOUND "nlohmann's JSON library" nlohmann-json3-dev)

# data/ reads gzip-compressed IDX files (MNIST's format).
find_package(ZLIB QUIET)
lamppost_require(ZLIB_FOUND "zlib" zlib1g-dev)

find_package(OpenMP QUIET COMPONENTS CXX)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  lamppost_require(OpenMP_CXX_FOUND "OpenMP for clang" libomp-dev)
else()
  lamppost_require(OpenMP_CXX_FOUND "OpenMP" libgomp1)
endif()

if(LAMPPOST_BUILD_TESTS)
  find_package(GTest CONFIG QUIET)
  lamppost_require(GTest_FOUND "GoogleTest" libgtest-dev)
endif()

if(LAMPPOST_BUILD_BENCH)
  find_package(benchmark CONFIG QUIET)
  lamppost_require(benchmark_FOUND "Google Benchmark" libbenchmark-dev)
  # OpenBLAS is only a comparator in bench/, never used by the library; optional.
  find_library(LAMPPOST_OPENBLAS_LIBRARY NAMES openblas)
  find_path(LAMPPOST_OPENBLAS_INCLUDE cblas.h PATH_SUFFIXES openblas-pthread openblas
            PATHS /usr/include/x86_64-linux-gnu)
endif()
