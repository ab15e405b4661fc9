// A weak sc_main for every program that links the SystemC bridge.
// libsystemc.so refers to sc_main (its own main calls it). Orrery never uses
// SystemC's main, but a program linking libsystemc must define the symbol:
// this weak one stands in unless the program (a SystemC platform using
// orrery::module) has its own. systemc.cmake adds this file to every target
// that links orrery_bridge (an INTERFACE source), because a definition inside
// the static library would be left out of links that use the library only
// through the component type table.
#include <cstdio>

extern "C" __attribute__((weak)) int sc_main(int, char **)
{
    std::fputs("orrery: this program defines no sc_main\n", stderr);
    return 1;
}
