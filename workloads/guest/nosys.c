/* nosys: calls syscall 999, which the platform does not know; prints what
 * it got and exits with the errno (38, ENOSYS). */
#include "guest.h"

int main(long core, long ncores)
{
    (void)core, (void)ncores;
    long r = guest_syscall(999, 0, 0, 0);
    struct g_line l = {0};
    g_puts(&l, "syscall 999 returned -");
    g_putu(&l, (uint64_t)-r);
    g_puts(&l, "\n");
    g_flush(&l);
    return (int)-r;
}
