/* Build identity (set by CMake at configure time). */
#include "orrery/version.h"

#ifndef ORRERY_BUILD_ID
#define ORRERY_BUILD_ID "orrery-unknown"
#endif
#ifndef ORRERY_VERSION
#define ORRERY_VERSION "0.0.0"
#endif

const char *orr_build_id(void) { return ORRERY_BUILD_ID; }
const char *orr_version(void) { return ORRERY_VERSION; }
