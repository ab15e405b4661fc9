/* Messages for the ORR_E* error codes, generated from the one X-macro list in
 * include/orrery/error.h so codes and texts cannot drift apart. */
#include "orrery/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "orrery/outfile.h"
#include "orrery/results.h"

static int g_oom_exit = ORR_EXIT_USAGE;

void orr_oom_set_exit(int code) { g_oom_exit = code; }

void orr_oom(void)
{
    static const char msg[] =
        "error: out of memory: the scenario needs more memory than is available (an allocation "
        "failed); make it smaller or give orrery more memory. Nothing was written.\n";
    /* write(2), not stdio: stdio may need the memory that just ran out */
    ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)n;
    orr_outfile_remove_temporaries();
    orr_results_remove_new();
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
