# find_package(coselect) for the library cargo builds, with no network and
# no FetchContent:
#
#   cargo build --release -p coselect-ffi
#   cmake -S your-project -B build -DCMAKE_PREFIX_PATH=/path/to/coselect/ffi/cmake
#
# Targets:
#   coselect::coselect         the shared library (libcoselect_ffi.so)
#   coselect::coselect_static  the static library (libcoselect_ffi.a) with
#                              the system libraries Rust's std needs
# Variables: COSELECT_INCLUDE_DIR, COSELECT_LIBRARY_DIR (default: the
# workspace's target/release, or $CARGO_TARGET_DIR/release).
include_guard(GLOBAL)

get_filename_component(_coselect_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
set(COSELECT_INCLUDE_DIR "${_coselect_root}/ffi/include" CACHE PATH "Directory of coselect.h")
if(NOT COSELECT_LIBRARY_DIR)
  if(DEFINED ENV{CARGO_TARGET_DIR})
    set(_coselect_target "$ENV{CARGO_TARGET_DIR}")
  else()
    set(_coselect_target "${_coselect_root}/target")
  endif()
  set(COSELECT_LIBRARY_DIR "${_coselect_target}/release" CACHE PATH "Directory of libcoselect_ffi")
endif()

find_library(COSELECT_SHARED_LIBRARY NAMES coselect_ffi
  PATHS "${COSELECT_LIBRARY_DIR}" NO_DEFAULT_PATH)
find_file(COSELECT_STATIC_LIBRARY NAMES libcoselect_ffi.a
  PATHS "${COSELECT_LIBRARY_DIR}" NO_DEFAULT_PATH)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(coselect
  REQUIRED_VARS COSELECT_SHARED_LIBRARY COSELECT_STATIC_LIBRARY COSELECT_INCLUDE_DIR
  VERSION_VAR coselect_VERSION
  REASON_FAILURE_MESSAGE "build it first: cargo build --release -p coselect-ffi (looked in ${COSELECT_LIBRARY_DIR})")

if(coselect_FOUND AND NOT TARGET coselect::coselect)
  add_library(coselect::coselect SHARED IMPORTED)
  set_target_properties(coselect::coselect PROPERTIES
    IMPORTED_LOCATION "${COSELECT_SHARED_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${COSELECT_INCLUDE_DIR}")
  find_package(Threads REQUIRED)
  add_library(coselect::coselect_static STATIC IMPORTED)
  set_target_properties(coselect::coselect_static PROPERTIES
    IMPORTED_LOCATION "${COSELECT_STATIC_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${COSELECT_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS};m")
endif()
