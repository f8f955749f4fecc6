# Address and undefined-behaviour sanitizers for every target of the build (the asan preset).
if(WATCHGATE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
