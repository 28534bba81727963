# Generates build_info.cpp at build time (not configure time), so the git
# commit in `axon version` is the one the binary was built from.
function(axon_build_info target)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/build_info.cpp)
  add_custom_target(${target}_gen
    BYPRODUCTS ${out}
    COMMAND ${CMAKE_COMMAND}
            -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
            -DOUT=${out}
            -DVERSION=${PROJECT_VERSION}
            -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/WriteBuildInfo.cmake
    COMMENT "build info"
    VERBATIM)
  add_library(${target} STATIC ${out})
  add_dependencies(${target} ${target}_gen)
endfunction()
