# System libraries from Debian's packages (TOOLCHAIN.md): pkg-config for the
# ones without a usable CMake config.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium>=1.0.18)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(BLAKE2 REQUIRED IMPORTED_TARGET libb2)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
pkg_check_modules(NATS REQUIRED IMPORTED_TARGET libnats)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)  # Unicode case folding (CortEX filters)
find_package(simdjson 3 CONFIG REQUIRED)
find_package(Boost 1.74 CONFIG REQUIRED)  # header-only Boost.Asio (Boost::headers)
