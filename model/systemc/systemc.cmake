# The SystemC / TLM-2.0 bridge (model/systemc/, docs/systemc.md), included
# by the top-level CMakeLists.txt once orrery_engine and orrery_hw exist.
#   orrery_bridge   the engine mode and the tlm_target / tlm_initiator types
#                   (hw/registry.c lists them, so orrery_types links it);
#                   without SystemC, none.c: each entry point says how to get it
#   orrery_systemc  orrery::module, for SystemC platforms that hold Orrery
pkg_check_modules(SYSTEMC IMPORTED_TARGET systemc)
if(SYSTEMC_FOUND)
  set(BRIDGE_DIR ${CMAKE_SOURCE_DIR}/model/systemc)
  add_library(orrery_bridge STATIC ${BRIDGE_DIR}/engine.cpp ${BRIDGE_DIR}/runtime.cpp
    ${BRIDGE_DIR}/tlm_target.cpp ${BRIDGE_DIR}/tlm_initiator.cpp)
  # SystemC's headers are not -Wextra clean: system headers
  target_include_directories(orrery_bridge SYSTEM PUBLIC ${SYSTEMC_INCLUDE_DIRS})
  target_link_libraries(orrery_bridge PUBLIC orrery_engine PkgConfig::SYSTEMC ${CMAKE_DL_LIBS})
  # compiled into each program that links the bridge (weak_main.cpp says why)
  target_sources(orrery_bridge INTERFACE ${BRIDGE_DIR}/weak_main.cpp)
  add_library(orrery_systemc STATIC ${BRIDGE_DIR}/module.cpp)
  target_link_libraries(orrery_systemc PUBLIC orrery_bridge orrery_types)
  add_subdirectory(${CMAKE_SOURCE_DIR}/examples/systemc ${CMAKE_BINARY_DIR}/examples/systemc)
else()
  message(WARNING "SystemC not found (pkg-config systemc): building without "
    "`orrery run --engine systemc`, the tlm_target component and orrery::module. "
    "Install it with scripts/deps.sh (Debian/Ubuntu: apt-get install libsystemc-dev) "
    "and re-run cmake.")
  add_library(orrery_bridge STATIC ${CMAKE_SOURCE_DIR}/model/systemc/none.c)
  target_link_libraries(orrery_bridge PUBLIC orrery_engine)
endif()
