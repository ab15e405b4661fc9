/* Messages for the ORR_E* error codes, generated from the one X-macro list in
 * include/orrery/error.h so codes and texts cannot drift apart. */
#include "orrery/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int g_oom_exit = ORR_EXIT_USAGE;
/* What orr_oom runs before exiting; registered by the modules that own
 * something to clean up, so this file links nothing else. */
static void (*g_oom_cleanup[4])(void);

void orr_oom_set_exit(int code) { g_oom_exit = code; }

void orr_oom_on_exit(void (*fn)(void))
{
    for (unsigned i = 0; i < sizeof g_oom_cleanup / sizeof g_oom_cleanup[0]; i++) {
        if (g_oom_cleanup[i] == fn)
            return;
        if (!g_oom_cleanup[i]) {
            g_oom_cleanup[i] = fn;
            return;
        }
    }
}

void orr_oom(void)
{
    static const char msg[] =
        "error: out of memory: the scenario needs more memory than is available (an allocation "
        "failed); make it smaller or give orrery more memory. Nothing was written.\n";
    /* write(2), not stdio: stdio may need the memory that just ran out */
    ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)n;
    for (unsigned i = 0; i < sizeof g_oom_cleanup / sizeof g_oom_cleanup[0]; i++)
        if (g_oom_cleanup[i])
            g_oom_cleanup[i]();
    _exit(g_oom_exit);
}

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
