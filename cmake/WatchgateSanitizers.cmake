# Address and undefined-behaviour sanitizers for every target of the build (the asan preset).
if(WATCHGATE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

# Thread sanitizer (the tsan preset): data races in the gateway and the plugins it runs.
if(WATCHGATE_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
