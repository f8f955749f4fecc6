# Installs the SDK from BUILD_DIR to a temporary prefix, builds this folder's plugin against it,
# then runs it through the watchgate binary and checks the verdict.
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
if(NOT EXISTS ${prefix}/include/watchgate/plugin.h)
  message(FATAL_ERROR "the SDK install has no plugin.h")
endif()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)

file(WRITE ${WORK_DIR}/gateway.yaml "plugins:\n  security:\n    _global:\n      - path: build/deny_tool.so\n        config: {tool: rm_rf}\n")
file(WRITE ${WORK_DIR}/messages.jsonl
  "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"rm_rf\",\"arguments\":{}}}\n"
  "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"ls\",\"arguments\":{}}}\n")
run(${WATCHGATE} simulate --config ${WORK_DIR}/gateway.yaml --input ${WORK_DIR}/messages.jsonl)
string(FIND "${last_output}" "Request blocked: deny_tool: tool 'rm_rf' is denied" blocked)
string(FIND "${last_output}" "=> allowed: forwarded" allowed)
if(blocked EQUAL -1 OR allowed EQUAL -1)
  message(FATAL_ERROR "unexpected verdicts:\n${last_output}")
endif()
message(STATUS "out-of-tree plugin built against the installed SDK and ran:\n${last_output}")
