/* A deliberate crash: a store through a NULL pointer. Under Linux (and
 * orrery exec) the process dies of SIGSEGV, exit status 139. */
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argv;
    volatile int *p = (volatile int *)(long)(argc - 1); /* NULL when run without arguments */
    printf("about to crash\n");
    fflush(stdout);
    *p = 42;
    return 0;
}
