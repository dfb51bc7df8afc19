# The daemon's folders as static libraries, one per folder (daemon/<folder>/CMakeLists.txt), added in
# layer order. Included by the main project and by the fuzz project (tests/fuzz), which each define
# first:
#   mediax_settings  INTERFACE: include path, definitions, and (fuzz) the instrumentation flags
#   mediax_warnings  INTERFACE: warning flags for the folders' own sources
# and find the packages the folders use (mediax_find_packages below).
# Which folder may use which is written once, in ARCHITECTURE.md ("Allowed edges"); each folder's
# target_link_libraries names those folders, and tests/arch/check_includes.py checks both against it.

macro(mediax_find_packages)
  find_package(PkgConfig REQUIRED)
  find_package(Threads REQUIRED)
  find_package(OpenSSL REQUIRED)
  find_package(Boost 1.74 REQUIRED)  # headers only: Asio, Beast (http/), Asio elsewhere
  find_package(spdlog REQUIRED)
  find_package(nlohmann_json REQUIRED)
  find_package(pugixml REQUIRED)  # WeChat third-party platform pushes (XML); no DTDs, no entity expansion
  pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
  pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
  pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)
  pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
  # tl::expected (header only, Debian libexpected-dev): the service layer's outcomes as values.
  find_path(TL_EXPECTED_INCLUDE_DIR tl/expected.hpp REQUIRED)
endmacro()

# With clang (the fuzz and ThreadSanitizer trees), the headers most of the folders' files include are
# precompiled once per build tree (the first folder's, reused by the others: they are compiled with
# the same flags); reading them is a third to a half of a file's time at -O0/-O1. Not with g++: at
# -O2 reading is a small part of a file's time, and g++ 12 then finds false array-bounds
# overflows in libstdc++'s string code (-Werror).
# Files keep including what they use: the precompiled headers would hide a forgotten include, which
# a build with -DCMAKE_DISABLE_PRECOMPILE_HEADERS=ON shows.
set(MEDIAX_FOLDER_PCH <algorithm> <chrono> <cstdint> <functional> <map> <memory> <mutex> <optional> <string>
  <string_view> <utility> <vector> <nlohmann/json.hpp> <spdlog/spdlog.h>)

# mediax_folder(<folder> <source>...): the static library mediax_<folder> of daemon/<folder>.
function(mediax_folder folder)
  add_library(mediax_${folder} STATIC)
  target_sources(mediax_${folder} PRIVATE ${ARGN})
  # spdlog and nlohmann_json: their definitions and paths for the precompiled headers in every folder.
  target_link_libraries(mediax_${folder} PUBLIC mediax_settings PRIVATE mediax_warnings spdlog::spdlog
    nlohmann_json::nlohmann_json)
  target_include_directories(mediax_${folder} SYSTEM PUBLIC ${TL_EXPECTED_INCLUDE_DIR})
  get_property(first GLOBAL PROPERTY MEDIAX_PCH_FOLDER)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    return()
  elseif(first)
    target_precompile_headers(mediax_${folder} REUSE_FROM ${first})
  else()
    target_precompile_headers(mediax_${folder} PRIVATE ${MEDIAX_FOLDER_PCH})
    set_property(GLOBAL PROPERTY MEDIAX_PCH_FOLDER mediax_${folder})
  endif()
endfunction()

set(MEDIAX_FOLDERS util obs fiber net core config crypto store platforms schedule service http runtime)

# mediax_add_folders([<last folder>]): add_subdirectory of every folder up to and including <last>
# (all by default), from the source tree at MEDIAX_ROOT.
function(mediax_add_folders)
  set(last runtime)
  if(ARGC GREATER 0)
    set(last ${ARGV0})
  endif()
  foreach(folder IN LISTS MEDIAX_FOLDERS)
    add_subdirectory(${MEDIAX_ROOT}/daemon/${folder} ${CMAKE_BINARY_DIR}/daemon/${folder})
    if(folder STREQUAL last)
      break()
    endif()
  endforeach()
endfunction()
