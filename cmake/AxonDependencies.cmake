# Every dependency comes from a Debian package (scripts/debian-packages.txt),
# found through its CMake config or pkg-config file.
find_package(PkgConfig REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(nlohmann_json 3.10 CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
find_package(doctest CONFIG REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf>=1.0)
pkg_check_modules(LIBCURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++)
pkg_check_modules(PROTOBUF REQUIRED IMPORTED_TARGET protobuf)
# Every YAML text's parser (libpolicy's load_yaml_all), building yaml-cpp's
# trees: libyaml cannot hang where yaml-cpp 0.7's own parser can
pkg_check_modules(LIBYAML REQUIRED IMPORTED_TARGET yaml-0.1)
# The L7 proxy's HTTP rules: RE2, as Envoy's safe_regex (libproxy)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
# The L7 proxy (libproxy): Boost.Asio and Beast, header-only
find_package(Boost 1.81 REQUIRED)
# The gateway proxy's HTTPS listeners (TLS on Boost.Asio's OpenSSL streams)
find_package(OpenSSL 3 REQUIRED)
# The web UI's HTTP server (axon ui)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)

find_program(AXON_PROTOC protoc REQUIRED)
find_program(AXON_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
find_program(AXON_BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(AXON_BPFTOOL bpftool PATHS /usr/sbin /sbin REQUIRED)
