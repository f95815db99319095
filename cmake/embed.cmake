# Turn the systemd unit and init script templates into a C header of string
# constants, so that "nfflowd install" writes the same files the package
# ships. Usage: cmake -DOUT=header -DUNIT=file -DINIT=file -P embed.cmake
function(embed var file)
  file(READ "${file}" content)
  string(REPLACE "\\" "\\\\" content "${content}")
  string(REPLACE "\"" "\\\"" content "${content}")
  string(REPLACE "\n" "\\n\"\n\t\"" content "${content}")
  set(text "${text}static const char ${var}[] =\n\t\"${content}\";\n" PARENT_SCOPE)
endfunction()

set(text "/* Generated from dist/ by cmake/embed.cmake: do not edit. */\n")
embed(unit_template "${UNIT}")
embed(init_template "${INIT}")
file(WRITE "${OUT}.tmp" "${text}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
