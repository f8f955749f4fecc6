# watchgate_set_warnings(<target>): the project's warning level, fatal when WATCHGATE_WERROR is on.
function(watchgate_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor>
                                           $<$<BOOL:${WATCHGATE_WERROR}>:-Werror>)
endfunction()
