# The package version is the crate's (ffi/Cargo.toml, from the workspace);
# any 0.1.x satisfies a request for 0.1 (the ABI is versioned separately:
# COSELECT_ABI_VERSION in coselect.h).
set(PACKAGE_VERSION "0.1.0")
set(coselect_VERSION "${PACKAGE_VERSION}")
if(PACKAGE_FIND_VERSION_MAJOR EQUAL 0 AND PACKAGE_FIND_VERSION_MINOR EQUAL 1)
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
elseif(NOT PACKAGE_FIND_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
else()
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
endif()
