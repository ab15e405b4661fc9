/* Streaming JSON writer (see include/orrery/json.h). */
#include "orrery/json.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>

void orr_json_init(struct orr_json *j, FILE *out, bool pretty)
{
    j->out = out;
    j->depth = 0;
    j->first[0] = true;
    j->after_key = false;
    j->pretty = pretty;
}

static void newline(struct orr_json *j)
{
    if (!j->pretty)
        return;
    fputc('\n', j->out);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->out);
}

/* Emit the separator that precedes a value at the current depth. */
static void before_value(struct orr_json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (!j->first[j->depth])
        fputc(',', j->out);
    if (j->depth > 0)
        newline(j);
    j->first[j->depth] = false;
}

static void open(struct orr_json *j, char c)
{
    before_value(j);
    fputc(c, j->out);
    assert(j->depth + 1 < ORR_JSON_MAX_DEPTH);
    j->depth++;
    j->first[j->depth] = true;
}

static void close_(struct orr_json *j, char c)
{
    bool empty = j->first[j->depth];
    j->depth--;
    if (!empty)
        newline(j);
    fputc(c, j->out);
}

void orr_json_obj_begin(struct orr_json *j) { open(j, '{'); }
void orr_json_obj_end(struct orr_json *j) { close_(j, '}'); }
void orr_json_arr_begin(struct orr_json *j) { open(j, '['); }
void orr_json_arr_end(struct orr_json *j) { close_(j, ']'); }

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if p does not start
 * one: no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    size_t n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                            : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F) || (c == 0xF0 && p[1] < 0x90) ||
        (c == 0xF4 && p[1] > 0x8F))
        return 0;
    return n;
}

void orr_json_write_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_len(p);
        if (n == 0) {
            fputs("\\ufffd", out); /* one replacement character per invalid byte */
            p++;
            continue;
        }
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20 || *p == 0x7F)
                fprintf(out, "\\u%04x", *p);
            else
                fwrite(p, 1, n, out);
        }
        p += n;
    }
    fputc('"', out);
}

void orr_json_key(struct orr_json *j, const char *key)
{
    before_value(j);
    orr_json_write_string(j->out, key);
    fputs(j->pretty ? ": " : ":", j->out);
    j->after_key = true;
}

void orr_json_str(struct orr_json *j, const char *s)
{
    if (!s) {
        orr_json_null(j);
        return;
    }
    before_value(j);
    orr_json_write_string(j->out, s);
}

void orr_json_u64(struct orr_json *j, uint64_t v)
{
    before_value(j);
    fprintf(j->out, "%" PRIu64, v);
}

void orr_json_i64(struct orr_json *j, int64_t v)
{
    before_value(j);
    fprintf(j->out, "%" PRId64, v);
}

void orr_json_dbl(struct orr_json *j, double v)
{
    if (!isfinite(v)) {
        orr_json_null(j);
        return;
    }
    before_value(j);
    fprintf(j->out, "%.17g", v);
}

void orr_json_bool(struct orr_json *j, bool v)
{
    before_value(j);
    fputs(v ? "true" : "false", j->out);
}

void orr_json_null(struct orr_json *j)
{
    before_value(j);
    fputs("null", j->out);
}

void orr_json_hex64(struct orr_json *j, uint64_t v)
{
    before_value(j);
    fprintf(j->out, "\"%016" PRIx64 "\"", v);
}

void orr_json_end(struct orr_json *j)
{
    assert(j->depth == 0);
    fputc('\n', j->out);
    fflush(j->out);
}
