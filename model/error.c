/* Messages for the ORR_E* error codes, generated from the one X-macro list in
 * include/orrery/error.h so codes and texts cannot drift apart. */
#include "orrery/error.h"

const char *orr_strerror(int rc)
{
    switch (rc) {
    case ORR_OK:
        return "success";
#define ORR__ERR_CASE(name, num, msg) \
    case ORR_##name:                  \
        return msg;
        ORR_ERRNO_MAP(ORR__ERR_CASE)
#undef ORR__ERR_CASE
    default:
        return "unknown error";
    }
}
