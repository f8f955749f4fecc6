# Use ccache when it is installed: rebuilds of unchanged translation units become near free.
find_program(WATCHGATE_CCACHE ccache)
if(WATCHGATE_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_C_COMPILER_LAUNCHER ${WATCHGATE_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${WATCHGATE_CCACHE})
endif()
