/* Child orrery processes for the verbs that fan work out (`sweep`,
 * `regress`): start `orrery run ...` as a separate process with its stdout
 * and stderr captured, keep at most N running, wait for the next to end,
 * forward Ctrl-C, and read fields of the child's `--json` result.
 *
 * Signals: while a pool is open, the stop signals (SIGINT, SIGTERM,
 * SIGHUP; cli.h) and SIGCHLD are blocked except inside sigsuspend() (or
 * pselect(), which sleeps the same way but also wakes every IDLE_TICK_NS
 * for the pool's idle callback), so "check the flag, reap, sleep" cannot
 * miss a wake-up. The first stop signal stops the caller launching more
 * work (cli_pool_interrupted) and is forwarded once, as the same signal, to
 * every running child; `orrery run` then stops promptly and stores its run
 * as 'interrupted'. The pool goes on waiting for the children, so none is
 * orphaned and the caller records how each ended.
 * Children (fork + exec of /proc/self/exe) start with the caller's
 * original signal mask and dispositions. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "orrery/error.h"

#define IDLE_TICK_NS 100000000L /* 0.1 s */

struct cli_pool_signals {
    sigset_t old_mask, wait_mask;
    struct cli_saved_signals old_stop;
    struct sigaction old_chld;
};

/* the first stop signal received; the only signal-visible state */
static volatile sig_atomic_t g_interrupted;

static void on_stop_signal(int sig)
{
    if (!g_interrupted)
        g_interrupted = sig;
}

static void on_sigchld(int sig) { (void)sig; /* only wakes sigsuspend */ }

int cli_pool_open(struct cli_pool *p, unsigned max_jobs)
{
    memset(p, 0, sizeof *p);
    ssize_t n = readlink("/proc/self/exe", p->exe, sizeof p->exe - 1);
    if (n <= 0 || (size_t)n >= sizeof p->exe - 1)
        return -1;
    p->exe[n] = 0;
    p->max_jobs = max_jobs ? max_jobs : 1;
    p->aRunning = calloc(p->max_jobs, sizeof *p->aRunning);
    p->sig = calloc(1, sizeof *p->sig);
    if (!p->aRunning || !p->sig)
        orr_oom();
    struct cli_pool_signals *ps = p->sig;
    g_interrupted = 0;
    sigset_t block;
    sigemptyset(&block);
    for (int i = 0; i < CLI_STOP_SIGNALS; i++)
        sigaddset(&block, cli_stop_signals[i]);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &ps->old_mask);
    ps->wait_mask = ps->old_mask;
    for (int i = 0; i < CLI_STOP_SIGNALS; i++)
        sigdelset(&ps->wait_mask, cli_stop_signals[i]);
    sigdelset(&ps->wait_mask, SIGCHLD);
    struct sigaction sc = {.sa_handler = on_sigchld};
    sigemptyset(&sc.sa_mask);
    cli_catch_stop_signals(on_stop_signal, &ps->old_stop);
    sigaction(SIGCHLD, &sc, &ps->old_chld);
    return 0;
}

bool cli_pool_interrupted(const struct cli_pool *p)
{
    (void)p;
    return g_interrupted != 0;
}

int cli_pool_signal(const struct cli_pool *p)
{
    (void)p;
    return (int)g_interrupted;
}

bool cli_pool_full(const struct cli_pool *p) { return p->nRunning >= p->max_jobs; }

/* In the child, between fork and exec: only async-signal-safe calls. A
 * stop signal forwarded before exec kills the child outright (the caller's
 * handler would remove the caller's temporary files). */
static void exec_child(const struct cli_pool *p, const struct cli_job *j)
{
    for (int i = 0; i < CLI_STOP_SIGNALS; i++)
        if (p->sig->old_stop.caught[i])
            signal(cli_stop_signals[i], SIG_DFL);
    sigaction(SIGCHLD, &p->sig->old_chld, NULL);
    sigprocmask(SIG_SETMASK, &p->sig->old_mask, NULL);
    if (dup2(fileno(j->out), STDOUT_FILENO) < 0 || dup2(fileno(j->err), STDERR_FILENO) < 0)
        _exit(127);
    execv(p->exe, j->argv);
    static const char msg[] = "orrery: cannot execute the orrery binary\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(127);
}

/* An unlinked temporary file, not inherited by other children (dup2 onto
 * the child's stdout/stderr clears close-on-exec for that child only). */
static FILE *capture_file(void)
{
    FILE *f = tmpfile();
    if (f)
        fcntl(fileno(f), F_SETFD, FD_CLOEXEC);
    return f;
}

int cli_pool_start(struct cli_pool *p, struct cli_job *j)
{
    if (cli_pool_full(p))
        return -1;
    j->out = capture_file();
    j->err = capture_file();
    if (!j->out || !j->err)
        goto fail;
    fflush(stdout);
    fflush(stderr);
    j->pid = fork();
    if (j->pid < 0)
        goto fail;
    if (j->pid == 0)
        exec_child(p, j);
    j->t0 = cli_wall_seconds();
    p->aRunning[p->nRunning++] = j;
    return 0;
fail:
    if (j->out)
        fclose(j->out);
    if (j->err)
        fclose(j->err);
    j->out = j->err = NULL;
    return -1;
}

/* The whole of a capture file as a string (never NULL). */
static char *slurp(FILE *f)
{
    size_t cap = 4096, n = 0, got;
    char *s = malloc(cap);
    if (!s)
        orr_oom();
    rewind(f);
    while ((got = fread(s + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap && !(s = realloc(s, cap *= 2)))
            orr_oom();
    }
    s[n] = 0;
    fclose(f);
    return s;
}

static void finish(struct cli_job *j, int status)
{
    j->wall = cli_wall_seconds() - j->t0;
    j->exit_code = WIFEXITED(status) ? WEXITSTATUS(status)
                   : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                         : 255;
    j->out_text = slurp(j->out);
    j->err_text = slurp(j->err);
    j->out = j->err = NULL;
}

/* Sleep until a stop signal or SIGCHLD arrives (their handlers run inside), or,
 * with an idle callback, at most IDLE_TICK_NS and then call it. */
static void sleep_for_signal(struct cli_pool *p)
{
    if (!p->idle) {
        sigsuspend(&p->sig->wait_mask);
        return;
    }
    struct timespec tick = {0, IDLE_TICK_NS};
    pselect(0, NULL, NULL, NULL, &tick, &p->sig->wait_mask);
    p->idle(p->idle_arg);
}

struct cli_job *cli_pool_wait(struct cli_pool *p)
{
    while (p->nRunning) {
        if (g_interrupted && !p->forwarded) {
            for (size_t i = 0; i < p->nRunning; i++)
                kill(p->aRunning[i]->pid, g_interrupted);
            p->forwarded = true;
        }
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            for (size_t i = 0; i < p->nRunning; i++) {
                struct cli_job *j = p->aRunning[i];
                if (j->pid != pid)
                    continue;
                p->aRunning[i] = p->aRunning[--p->nRunning];
                finish(j, status);
                return j;
            }
            continue; /* not one of ours */
        }
        if (pid < 0 && errno != EINTR)
            break; /* ECHILD: they are gone */
        sleep_for_signal(p);
    }
    return NULL;
}

void cli_pool_close(struct cli_pool *p)
{
    struct cli_job *j;
    while ((j = cli_pool_wait(p)) != NULL)
        cli_job_free(j);
    if (!p->sig)
        return;
    cli_restore_stop_signals(&p->sig->old_stop);
    sigaction(SIGCHLD, &p->sig->old_chld, NULL);
    sigprocmask(SIG_SETMASK, &p->sig->old_mask, NULL);
    free(p->aRunning);
    free(p->sig);
    p->aRunning = NULL;
    p->sig = NULL;
}

void cli_job_free(struct cli_job *j)
{
    free(j->out_text);
    free(j->err_text);
    j->out_text = j->err_text = NULL;
}

void cli_job_first_line(const struct cli_job *j, char *buf, size_t n)
{
    const char *s = j->err_text ? j->err_text : "";
    while (*s == '\n')
        s++;
    size_t len = strcspn(s, "\n");
    if (!len)
        snprintf(buf, n, "exited with status %d and no message", j->exit_code);
    else
        snprintf(buf, n, "%.*s", (int)len, s);
}

/* --- reading the child's --json result ----------------------------------
 * Only the top-level object's keys are looked at; values are skipped by
 * their structure, so a metric named "run_id" inside "metrics" is never
 * mistaken for the top-level field. */

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    return s;
}

static const char *skip_string(const char *s) /* at '"'; returns past the closing quote */
{
    for (s++; *s && *s != '"'; s++)
        if (*s == '\\' && s[1])
            s++;
    return *s ? s + 1 : NULL;
}

static const char *skip_value(const char *s)
{
    s = skip_ws(s);
    if (*s == '"')
        return skip_string(s);
    if (*s == '{' || *s == '[') {
        int depth = 0;
        while (*s) {
            if (*s == '"') {
                if (!(s = skip_string(s)))
                    return NULL;
                continue;
            }
            if (*s == '{' || *s == '[')
                depth++;
            else if ((*s == '}' || *s == ']') && --depth == 0)
                return s + 1;
            s++;
        }
        return NULL;
    }
    while (*s && *s != ',' && *s != '}' && *s != ']' && *s != ' ' && *s != '\n')
        s++;
    return s;
}

const char *cli_json_find(const char *json, const char *key, size_t *len)
{
    const char *s = json ? skip_ws(json) : NULL;
    if (!s || *s != '{')
        return NULL;
    s = skip_ws(s + 1);
    size_t klen = strlen(key);
    while (*s == '"') {
        const char *k = s + 1, *end = skip_string(s);
        if (!end)
            return NULL;
        bool match = (size_t)(end - 1 - k) == klen && memcmp(k, key, klen) == 0;
        s = skip_ws(end);
        if (*s != ':')
            return NULL;
        const char *v = skip_ws(s + 1), *ve = skip_value(v);
        if (!ve)
            return NULL;
        if (match) {
            *len = (size_t)(ve - v);
            return v;
        }
        s = skip_ws(ve);
        if (*s != ',')
            return NULL;
        s = skip_ws(s + 1);
    }
    return NULL;
}

bool cli_json_get_str(const char *json, const char *key, char *buf, size_t n)
{
    size_t len;
    const char *v = cli_json_find(json, key, &len);
    if (!v || *v != '"' || !n)
        return false;
    size_t o = 0;
    for (const char *s = v + 1; s < v + len - 1 && o + 1 < n; s++) {
        if (*s == '\\' && s + 1 < v + len - 1) {
            s++;
            buf[o++] = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
        } else {
            buf[o++] = *s;
        }
    }
    buf[o] = 0;
    return true;
}

bool cli_json_get_i64(const char *json, const char *key, int64_t *out)
{
    size_t len;
    const char *v = cli_json_find(json, key, &len);
    if (!v || !((*v >= '0' && *v <= '9') || *v == '-'))
        return false;
    *out = strtoll(v, NULL, 10);
    return true;
}

bool cli_json_get_u64(const char *json, const char *key, uint64_t *out)
{
    size_t len;
    const char *v = cli_json_find(json, key, &len);
    if (!v || !(*v >= '0' && *v <= '9'))
        return false;
    *out = strtoull(v, NULL, 10);
    return true;
}

size_t cli_json_array_len(const char *json, const char *key)
{
    size_t len, n = 0;
    const char *v = cli_json_find(json, key, &len);
    if (!v || *v != '[')
        return 0;
    const char *s = skip_ws(v + 1);
    while (*s && *s != ']') {
        if (!(s = skip_value(s)))
            return n;
        n++;
        s = skip_ws(s);
        if (*s == ',')
            s = skip_ws(s + 1);
    }
    return n;
}

unsigned cli_online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}
