/* Build identity, recorded with every run and in every trace header. */
#ifndef ORRERY_VERSION_H
#define ORRERY_VERSION_H

/* "orrery-0.1.0+<commit> <compiler>-<version> <build type>" */
const char *orr_build_id(void);
const char *orr_version(void);

#endif
