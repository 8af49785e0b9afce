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
