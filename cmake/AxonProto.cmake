# axon_proto_library(<target> ROOT <dir> PROTOS <file.proto>... [GRPC])
#
# Runs protoc (and grpc_cpp_plugin with GRPC) on each .proto, relative to
# ROOT so the import paths and generated include paths match the package
# layout, and builds one static library from the generated code.
function(axon_proto_library target)
  cmake_parse_arguments(ARG "GRPC" "ROOT" "PROTOS" ${ARGN})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${out})
  set(srcs)
  foreach(proto ${ARG_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" base ${proto})
    set(gen ${out}/${base}.pb.cc ${out}/${base}.pb.h)
    set(cmd ${AXON_PROTOC} -I ${ARG_ROOT} --cpp_out=${out})
    if(ARG_GRPC)
      list(APPEND gen ${out}/${base}.grpc.pb.cc ${out}/${base}.grpc.pb.h)
      list(APPEND cmd --grpc_out=${out} --plugin=protoc-gen-grpc=${AXON_GRPC_CPP_PLUGIN})
    endif()
    add_custom_command(
      OUTPUT ${gen}
      COMMAND ${cmd} ${ARG_ROOT}/${proto}
      DEPENDS ${ARG_ROOT}/${proto}
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND srcs ${gen})
  endforeach()
  add_library(${target} STATIC ${srcs})
  # Generated code is not ours to keep warning-clean.
  target_compile_options(${target} PRIVATE -w)
  target_include_directories(${target} SYSTEM PUBLIC ${out})
  target_link_libraries(${target} PUBLIC PkgConfig::PROTOBUF)
  if(ARG_GRPC)
    target_link_libraries(${target} PUBLIC PkgConfig::GRPCPP)
  endif()
endfunction()
