# Warnings and sanitizers applied to our own targets only.
function(net_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(NET_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(NET_SANITIZE)
  add_compile_options(-fsanitize=${NET_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all -g)
  add_link_options(-fsanitize=${NET_SANITIZE})
endif()

# Fuzzing: every target gets coverage instrumentation plus ASan/UBSan; the
# fuzz executables add libFuzzer's main (tests/fuzz).
if(NET_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "NET_BUILD_FUZZERS needs Clang (CXX=clang++)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()
