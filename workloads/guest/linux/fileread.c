/* Reads a file the run maps in (argv[1], default /data/input.txt): counts
 * its lines, words and bytes like wc, with stdio and with read(2)+lseek,
 * then maps it (mmap of the read-only file) and compares. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/data/input.txt";
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); return 2; }
    long lines = 0, words = 0, bytes = 0;
    int c, in = 0;
    while ((c = fgetc(f)) != EOF) {
        bytes++;
        lines += c == '\n';
        if (c == ' ' || c == '\n' || c == '\t') in = 0;
        else if (!in) in = 1, words++;
    }
    fclose(f);
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) { perror("open/fstat"); return 2; }
    char first[16] = {0};
    lseek(fd, 0, SEEK_SET);
    ssize_t got = read(fd, first, sizeof first - 1);
    /* the file mapped: its bytes, zeros after its end in the last page;
     * a shared writable mapping of a read-only file is refused */
    const char *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    void *w = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int werr = errno;
    if (m == MAP_FAILED) { perror("mmap"); return 2; }
    int same = got > 0 && memcmp(m, first, (size_t)got) == 0;
    printf("mmap: %s, after the end %d, shared writable %s\n", same ? "same bytes" : "DIFFERENT",
           m[st.st_size], w == MAP_FAILED && werr == EACCES ? "EACCES" : "mapped");
    munmap((void *)m, (size_t)st.st_size);
    close(fd);
    printf("%ld %ld %ld %s (size %lld, starts \"%.5s\")\n", lines, words, bytes, path,
           (long long)st.st_size, got > 0 ? first : "");
    return st.st_size == bytes ? 0 : 1;
}
