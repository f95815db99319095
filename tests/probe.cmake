# tests/ipfix_probe: NetFlow v9 and IPFIX messages of made-up connections,
# encoded by the core (src/ipfix.c), for real collectors to decode. It is run
# by tests/e2e/v9_ipfix_probe.sh, which the e2e glob in CMakeLists.txt has
# registered as e2e_v9_ipfix_probe; here that test gets the probe's path and
# the label "collector" too (ctest -L collector).
add_executable(ipfix_probe ipfix_probe.c)
target_link_libraries(ipfix_probe PRIVATE nfcore)
set_property(TEST e2e_v9_ipfix_probe APPEND PROPERTY
  ENVIRONMENT "IPFIX_PROBE=$<TARGET_FILE:ipfix_probe>")
set_property(TEST e2e_v9_ipfix_probe APPEND PROPERTY LABELS collector)
