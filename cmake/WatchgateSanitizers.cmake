# Address and undefined-behaviour sanitizers for every target of the build (the asan preset).
if(WATCHGATE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

# Thread sanitizer (the tsan preset): data races in the gateway and the plugins it runs.
if(WATCHGATE_TSAN)
  # Asio uses atomic_thread_fence, which GCC warns TSan cannot see; its own atomics still are.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
  add_link_options(-fsanitize=thread)
endif()

# The fuzz preset: every target instrumented for libFuzzer's coverage, under the address sanitizer;
# only the fuzz targets link libFuzzer's main. (Clang 14 cannot compile coroutines under its
# undefined-behaviour sanitizer; the asan preset covers that with GCC.)
if(WATCHGATE_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address)
endif()
