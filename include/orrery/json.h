/* A small streaming JSON writer for `--json` output: call begin/end and
 * value functions in document order; commas and escaping are handled. */
#ifndef ORRERY_JSON_H
#define ORRERY_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define ORR_JSON_MAX_DEPTH 32

struct orr_json {
    FILE *out;
    int depth;
    bool first[ORR_JSON_MAX_DEPTH]; /* no element written yet at this depth */
    bool after_key;
    bool pretty;
};

void orr_json_init(struct orr_json *j, FILE *out, bool pretty);
void orr_json_obj_begin(struct orr_json *j);
void orr_json_obj_end(struct orr_json *j);
void orr_json_arr_begin(struct orr_json *j);
void orr_json_arr_end(struct orr_json *j);
void orr_json_key(struct orr_json *j, const char *key);
void orr_json_str(struct orr_json *j, const char *s); /* NULL writes null */
void orr_json_u64(struct orr_json *j, uint64_t v);
void orr_json_i64(struct orr_json *j, int64_t v);
void orr_json_dbl(struct orr_json *j, double v);     /* %.17g; NaN/inf write null */
void orr_json_bool(struct orr_json *j, bool v);
void orr_json_null(struct orr_json *j);
void orr_json_hex64(struct orr_json *j, uint64_t v); /* "0123456789abcdef" */
/* Write s as a JSON string: the one escaping every JSON writer uses (this
 * writer, the trace exporters). '"', '\\' and control characters are
 * escaped; bytes that are not valid UTF-8 (a stray byte, a truncated, overlong
 * or surrogate sequence) become one U+FFFD each, written "\ufffd", so the
 * output always parses whatever the input (a path, a component name, guest
 * output). */
void orr_json_write_string(FILE *out, const char *s);
/* Finish the document with a newline. */
void orr_json_end(struct orr_json *j);

#endif
