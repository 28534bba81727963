# axon_bpf_skeleton(<target> <file.bpf.c> [INCLUDES dir...])
#
# Compiles one BPF C program with clang -target bpf -g -O2 and turns the
# object into a libbpf skeleton header (<stem>.skel.h, struct axon_<stem>)
# with bpftool. The skeleton holds the object bytes, so the programs are
# embedded in the axon binary: nothing is loaded from a path at run time.
# <target> becomes an INTERFACE library whose include path has the header.

execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch
  OUTPUT_VARIABLE AXON_MULTIARCH OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT AXON_MULTIARCH)
  set(AXON_MULTIARCH "${CMAKE_SYSTEM_PROCESSOR}-linux-gnu")
endif()

function(axon_bpf_skeleton target src)
  cmake_parse_arguments(ARG "" "" "INCLUDES" ${ARGN})
  get_filename_component(src_abs ${src} ABSOLUTE)
  get_filename_component(name ${src} NAME)
  string(REGEX REPLACE "\\.bpf\\.c$" "" stem ${name})
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/bpf)
  set(obj ${out_dir}/${stem}.bpf.o)
  set(skel ${out_dir}/${stem}.skel.h)
  set(include_flags)
  foreach(dir ${ARG_INCLUDES})
    list(APPEND include_flags -I${dir})
  endforeach()
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${AXON_BPF_CLANG} -target bpf -g -O2 -Wall -Wextra -Werror
            -D__TARGET_ARCH_x86 ${include_flags}
            -idirafter /usr/include/${AXON_MULTIARCH}
            -MD -MF ${obj}.d -c ${src_abs} -o ${obj}
    DEPENDS ${src_abs}
    DEPFILE ${obj}.d
    COMMENT "BPF ${name}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND sh -c "'${AXON_BPFTOOL}' gen skeleton '${obj}' name axon_${stem} > '${skel}.tmp' && mv '${skel}.tmp' '${skel}'"
    DEPENDS ${obj}
    COMMENT "BPF skeleton ${stem}.skel.h"
    VERBATIM)
  add_custom_target(${target}_gen DEPENDS ${skel})
  add_library(${target} INTERFACE)
  add_dependencies(${target} ${target}_gen)
  target_include_directories(${target} INTERFACE ${out_dir})
endfunction()
