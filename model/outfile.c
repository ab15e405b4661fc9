/* Output files that never clobber inputs (include/orrery/outfile.h): the
 * same-file and file-kind check every writing verb runs first, and the
 * temporary-then-rename writer all of them use. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "orrery/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orrery/error.h"

/* ---- the check ----------------------------------------------------------- */

/* What a path names: the file (device and inode) when it exists, else where
 * it would be created (the real path of its folder + its name). */
struct file_id {
    bool exists;
    struct stat st;
    char *where; /* malloc'ed; NULL if it exists */
};

static char *resolved_new_path(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    size_t nDir = slash ? (size_t)(slash - path) : 0;
    char *dir = malloc(nDir + 2);
    if (!dir)
        return NULL;
    if (!slash)
        strcpy(dir, ".");
    else if (nDir == 0)
        strcpy(dir, "/");
    else
        memcpy(dir, path, nDir), dir[nDir] = '\0';
    char *real = realpath(dir, NULL);
    free(dir);
    const char *base = real ? real : "";
    char *out = malloc(strlen(base) + strlen(path) + 2);
    if (out) {
        if (real)
            sprintf(out, "%s/%s", strcmp(base, "/") ? base : "", name);
        else
            strcpy(out, path); /* a folder that does not exist: the path as given */
    }
    free(real);
    return out;
}

static void file_id_get(struct file_id *id, const char *path)
{
    memset(id, 0, sizeof *id);
    id->exists = stat(path, &id->st) == 0;
    if (!id->exists)
        id->where = resolved_new_path(path);
}

static bool same_file(const struct file_id *a, const struct file_id *b)
{
    if (a->exists || b->exists)
        return a->exists && b->exists && a->st.st_dev == b->st.st_dev &&
               a->st.st_ino == b->st.st_ino;
    return a->where && b->where && strcmp(a->where, b->where) == 0;
}

static const char *kind_noun(mode_t m)
{
    return S_ISDIR(m)    ? "a directory"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISFIFO(m) ? "a fifo"
           : S_ISSOCK(m) ? "a socket"
                         : "not a regular file";
}

static bool skipped(const struct orr_file_use *u)
{
    return !u->path || (u->role == ORR_FILE_OUTPUT && strcmp(u->path, "-") == 0);
}

int orr_files_check(const struct orr_file_use *aUse, size_t nUse, struct orr_diag *d)
{
    struct file_id *aId = calloc(nUse ? nUse : 1, sizeof *aId);
    if (!aId) {
        orr_diag_error(d, NULL, NULL, "out of memory");
        return ORR_ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < nUse; i++)
        if (!skipped(&aUse[i]))
            file_id_get(&aId[i], aUse[i].path);
    for (size_t i = 0; i < nUse; i++) {
        const struct orr_file_use *u = &aUse[i];
        if (skipped(u) || u->role == ORR_FILE_INPUT)
            continue;
        if (aId[i].exists && !S_ISREG(aId[i].st.st_mode)) {
            orr_diag_error(d, NULL, NULL, "%s '%s' is %s, not a regular file; refusing to %s it",
                           u->what, u->path, kind_noun(aId[i].st.st_mode),
                           u->role == ORR_FILE_OUTPUT ? "replace" : "write");
            rc = ORR_EINVAL;
            continue;
        }
        for (size_t j = 0; j < nUse; j++) {
            const struct orr_file_use *v = &aUse[j];
            /* each pair of outputs once; every input against each output */
            if (j == i || skipped(v) || (v->role != ORR_FILE_INPUT && j > i))
                continue;
            if (!same_file(&aId[i], &aId[j]))
                continue;
            orr_diag_error(d, NULL, NULL,
                           "%s '%s' is the same file as %s '%s'; refusing to overwrite it",
                           u->what, u->path, v->what, v->path);
            rc = ORR_EINVAL;
        }
    }
    for (size_t i = 0; i < nUse; i++)
        free(aId[i].where);
    free(aId);
    return rc;
}

/* ---- temporaries a signal handler can remove ----------------------------- */

#define MAX_TEMPORARIES 32

static char *volatile g_aTmp[MAX_TEMPORARIES];

static int temporary_add(char *tmp)
{
    orr_oom_on_exit(orr_outfile_remove_temporaries);
    for (int i = 0; i < MAX_TEMPORARIES; i++)
        if (!g_aTmp[i]) {
            g_aTmp[i] = tmp;
            return i;
        }
    return -1; /* not found by a signal handler; still removed on abort */
}

static void temporary_drop(int slot)
{
    if (slot >= 0)
        g_aTmp[slot] = NULL;
}

void orr_outfile_remove_temporaries(void)
{
    for (int i = 0; i < MAX_TEMPORARIES; i++) {
        char *tmp = g_aTmp[i];
        if (tmp)
            unlink(tmp);
    }
}

/* ---- the writer ---------------------------------------------------------- */

static int io_error(struct orr_diag *d, const char *path, const char *what, int err)
{
    struct orr_mark mark = {path, 0, 0};
    orr_diag_error(d, &mark, NULL, "cannot %s '%s': %s", what, path, strerror(err));
    return err == ENOMEM ? ORR_ENOMEM : ORR_EIO;
}

int orr_outfile_open(struct orr_outfile *o, const char *path, struct orr_diag *d)
{
    memset(o, 0, sizeof *o);
    o->fd = -1;
    o->slot = -1;
    /* a symbolic link is written through: its target is replaced and the
     * link stays (the temporary file goes beside the target); messages
     * name the path as given */
    struct stat lst;
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
        if (!(o->path = realpath(path, NULL))) {
            int err = errno;
            struct orr_mark mark = {path, 0, 0};
            orr_diag_error(d, &mark, NULL,
                           "cannot write '%s': it is a symbolic link whose target cannot be "
                           "resolved (%s); give the target's path",
                           path, strerror(err));
            return err == ENOMEM ? ORR_ENOMEM : ORR_EIO;
        }
    } else {
        o->path = strdup(path);
    }
    size_t n = (o->path ? strlen(o->path) : 0) + 48;
    o->tmp = malloc(n);
    if (!o->path || !o->tmp) {
        orr_outfile_abort(o);
        return io_error(d, path, "create", ENOMEM);
    }
    long pid = (long)getpid();
    for (unsigned k = 0; k < 100 && o->fd < 0; k++) {
        if (k == 0)
            snprintf(o->tmp, n, "%s.tmp.%ld", o->path, pid);
        else
            snprintf(o->tmp, n, "%s.tmp.%ld.%u", o->path, pid, k);
        o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (o->fd < 0 && errno != EEXIST)
            break;
    }
    if (o->fd < 0) {
        int err = errno;
        orr_outfile_abort(o);
        return io_error(d, path, "create a temporary file beside", err);
    }
    o->created = true;
    o->slot = temporary_add(o->tmp);
    return 0;
}

FILE *orr_outfile_stream(struct orr_outfile *o)
{
    if (!o->f && o->fd >= 0)
        o->f = fdopen(o->fd, "wb");
    return o->f;
}

static void outfile_free(struct orr_outfile *o)
{
    temporary_drop(o->slot);
    o->slot = -1;
    free(o->path);
    free(o->tmp);
    o->path = o->tmp = NULL;
}

/* Make the rename durable too; failure here loses nothing already written. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    int fd = dir ? open(dir, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

int orr_outfile_commit(struct orr_outfile *o, struct orr_diag *d)
{
    int err = 0;
    if (o->f && (fflush(o->f) != 0 || ferror(o->f)))
        err = errno ? errno : EIO;
    if (!err && fsync(o->fd) != 0)
        err = errno;
    int closed = o->f ? fclose(o->f) : close(o->fd);
    o->f = NULL;
    o->fd = -1;
    if (!err && closed != 0)
        err = errno;
    if (err) {
        int rc = io_error(d, o->path, "write", err);
        orr_outfile_abort(o);
        return rc;
    }
    /* the check ran before anything was written; something may have
     * appeared under the name since */
    struct stat st;
    if (stat(o->path, &st) == 0 && !S_ISREG(st.st_mode)) {
        struct orr_mark mark = {o->path, 0, 0};
        orr_diag_error(d, &mark, NULL, "'%s' is %s, not a regular file; refusing to replace it",
                       o->path, kind_noun(st.st_mode));
        orr_outfile_abort(o);
        return ORR_EINVAL;
    }
    if (rename(o->tmp, o->path) != 0) {
        int rc = io_error(d, o->path, "rename into place", errno);
        orr_outfile_abort(o);
        return rc;
    }
    o->created = false;
    sync_parent_dir(o->path);
    outfile_free(o);
    return 0;
}

void orr_outfile_abort(struct orr_outfile *o)
{
    if (!o->path)
        return; /* zeroed, or already finished */
    if (o->f)
        fclose(o->f);
    else if (o->fd >= 0)
        close(o->fd);
    o->f = NULL;
    if (o->created)
        unlink(o->tmp);
    o->created = false;
    o->fd = -1;
    outfile_free(o);
}
