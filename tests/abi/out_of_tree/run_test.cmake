# Installs the SDK from BUILD_DIR to a temporary prefix, then builds the installed C and C++
# examples against it, out of tree, and runs each example's own tests (watchgate simulate).
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "failed (${code}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --component sdk --prefix ${prefix})
foreach(file include/watchgate/plugin.h include/watchgate/abi/host_api.h share/watchgate/sdk/examples/c/no_tool.c
             share/watchgate/sdk/examples/cpp/deny_tool.cpp share/watchgate/sdk/rust/watchgate-plugin/Cargo.toml)
  if(NOT EXISTS ${prefix}/${file})
    message(FATAL_ERROR "the SDK install has no ${file}")
  endif()
endforeach()

foreach(example c cpp)
  set(build ${WORK_DIR}/${example})
  run(${CMAKE_COMMAND} -S ${prefix}/share/watchgate/sdk/examples/${example} -B ${build} -G ${GENERATOR}
      -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release -DWATCHGATE=${WATCHGATE})
  run(${CMAKE_COMMAND} --build ${build})
  run(${CMAKE_CTEST_COMMAND} --test-dir ${build} --output-on-failure --no-tests=error)
  string(FIND "${last_output}" "100% tests passed, 0 tests failed out of 2" passed)
  if(passed EQUAL -1)
    message(FATAL_ERROR "the ${example} example's tests:\n${last_output}")
  endif()
  message(STATUS "the installed ${example} example built against the installed SDK and passed its tests")
endforeach()
