/* Diagnostics about user input: a bounded list of positioned messages that is
 * printed in one go, so a user sees every problem in a scenario at once. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "orrery/diag.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void orr_diag_init(struct orr_diag *d)
{
    memset(d, 0, sizeof *d);
}

void orr_diag_free(struct orr_diag *d)
{
    for (size_t i = 0; i < d->nMsg; i++) {
        free(d->aMsg[i].keypath);
        free(d->aMsg[i].text); /* also holds the copy of mark.file */
    }
    free(d->aMsg);
    orr_diag_init(d);
}

/* Make room for one more message; false if memory is short. */
static bool diag_reserve(struct orr_diag *d)
{
    if (d->nMsg < d->nAlloc)
        return true;
    size_t nAlloc = d->nAlloc ? d->nAlloc * 2 : 8;
    if (nAlloc > ORR_DIAG_MAX)
        nAlloc = ORR_DIAG_MAX;
    struct orr_diag_msg *a = realloc(d->aMsg, nAlloc * sizeof *a);
    if (!a)
        return false;
    d->aMsg = a;
    d->nAlloc = nAlloc;
    return true;
}

/* The text and a copy of the mark's file name share one allocation: marks
 * usually point into a config arena that may be freed before the messages are
 * printed (a failed load frees its tree but keeps its diagnostics). */
static char *format_text_and_file(const char *file, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int len = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (len < 0)
        len = 0;
    size_t nFile = file ? strlen(file) + 1 : 0;
    char *text = malloc((size_t)len + 1 + nFile);
    if (!text)
        return NULL;
    vsnprintf(text, (size_t)len + 1, fmt, ap);
    if (file)
        memcpy(text + len + 1, file, nFile);
    return text;
}

void orr_diag_error(struct orr_diag *d, const struct orr_mark *mark, const char *keypath,
                    const char *fmt, ...)
{
    if (d->nMsg >= ORR_DIAG_MAX || !diag_reserve(d)) {
        d->nDropped++;
        return;
    }
    struct orr_diag_msg m = {0};
    const char *file = mark ? mark->file : NULL;
    va_list ap;
    va_start(ap, fmt);
    m.text = format_text_and_file(file, fmt, ap);
    va_end(ap);
    m.keypath = keypath && *keypath ? strdup(keypath) : NULL;
    if (!m.text || (keypath && *keypath && !m.keypath)) {
        free(m.text);
        free(m.keypath);
        d->nDropped++;
        return;
    }
    if (mark) {
        m.mark = *mark;
        m.mark.file = file ? m.text + strlen(m.text) + 1 : NULL;
    }
    d->aMsg[d->nMsg++] = m;
}

/* "file:line:col", "file:col" (a --set argument has no lines), "file" or "". */
static int format_where(const struct orr_mark *mk, char *buf, size_t n)
{
    if (!mk->file)
        return snprintf(buf, n, "%s", "");
    if (mk->line == 0 && mk->col == 0)
        return snprintf(buf, n, "%s: ", mk->file);
    if (mk->line == 0)
        return snprintf(buf, n, "%s:%u: ", mk->file, (unsigned)mk->col);
    return snprintf(buf, n, "%s:%u:%u: ", mk->file, (unsigned)mk->line, (unsigned)mk->col);
}

void orr_diag_format(const struct orr_diag_msg *m, char *buf, size_t n)
{
    if (n == 0)
        return;
    int used = format_where(&m->mark, buf, n);
    if (used < 0 || (size_t)used >= n)
        return;
    if (m->keypath)
        snprintf(buf + used, n - (size_t)used, "error: %s: %s", m->keypath, m->text);
    else
        snprintf(buf + used, n - (size_t)used, "error: %s", m->text);
}

void orr_diag_print(const struct orr_diag *d, FILE *out)
{
    for (size_t i = 0; i < d->nMsg; i++) {
        const struct orr_diag_msg *m = &d->aMsg[i];
        int len = format_where(&m->mark, NULL, 0);
        char *where = malloc(len > 0 ? (size_t)len + 1 : 1);
        if (where)
            format_where(&m->mark, where, (size_t)len + 1);
        fprintf(out, "%serror: %s%s%s\n", where ? where : "", m->keypath ? m->keypath : "",
                m->keypath ? ": " : "", m->text);
        free(where);
    }
    if (d->nDropped == 1)
        fprintf(out, "(1 more error not shown)\n");
    else if (d->nDropped > 1)
        fprintf(out, "(%zu more errors not shown)\n", d->nDropped);
}
