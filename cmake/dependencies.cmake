# Every dependency comes from a Debian 12 package (see README, "Why each dependency").
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED) # CRC-32 of the ack log's records
find_package(Boost 1.74 REQUIRED) # Asio: the worker pool of the polling actors' blocking outbound HTTP
find_package(SQLiteCpp REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(date REQUIRED)
if(BUILD_TESTING)
  find_package(Catch2 2 REQUIRED)
endif()
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(XLSXWRITER REQUIRED IMPORTED_TARGET xlsxwriter) # the XLSX export, constant-memory mode
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx) # PostgreSQL, the shared ledger (issue 17): tests so far
pkg_check_modules(PQ REQUIRED IMPORTED_TARGET libpq)     # libpq itself, below libpqxx (PQping)

# CAF 0.17 (libcaf-dev) ships no CMake config: make imported targets.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
find_library(CAF_IO_LIBRARY caf_io REQUIRED)
add_library(CAF::core UNKNOWN IMPORTED)
set_target_properties(CAF::core PROPERTIES
  IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES Threads::Threads)
add_library(CAF::io UNKNOWN IMPORTED)
set_target_properties(CAF::io PROPERTIES
  IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
  INTERFACE_LINK_LIBRARIES CAF::core)

# libphonenumber ships no CMake config either; it needs protobuf at link time.
find_path(PHONENUMBER_INCLUDE_DIR phonenumbers/phonenumberutil.h REQUIRED)
find_library(PHONENUMBER_LIBRARY phonenumber REQUIRED)
find_library(PROTOBUF_LIBRARY protobuf REQUIRED)
add_library(phonenumber::phonenumber UNKNOWN IMPORTED)
set_target_properties(phonenumber::phonenumber PROPERTIES
  IMPORTED_LOCATION "${PHONENUMBER_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${PHONENUMBER_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES "${PROTOBUF_LIBRARY}")
