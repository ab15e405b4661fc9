/* libFuzzer target for include/orrery/units.h: any text, parsed as every unit
 * kind, must give a value or an error with a reason; every value must format
 * and parse back to itself. Seeds: tests/fuzz/corpus/units/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/error.h"
#include "orrery/units.h"

static void check_roundtrip(enum orr_unit_kind kind, uint64_t v)
{
    char buf[64];
    size_t len = orr_unit_format(kind, v, buf, sizeof buf);
    uint64_t back = 0;
    if (len >= sizeof buf || orr_unit_parse(kind, buf, &back, NULL) != 0 || back != v)
        abort();
}

static void check_parse(enum orr_unit_kind kind, const char *text)
{
    uint64_t v = 0;
    const char *why = NULL;
    int rc = orr_unit_parse(kind, text, &v, &why);
    if (rc == 0) {
        if (why)
            abort();
        check_roundtrip(kind, v);
        return;
    }
    /* errors are one of the documented codes, with a "problem; expectation" */
    if ((rc != ORR_EPARSE && rc != ORR_EUNIT && rc != ORR_ERANGE) || !why || !strstr(why, "; "))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    uint64_t raw = 0; /* the first bytes, as a value to format */
    memcpy(&raw, data, size < sizeof raw ? size : sizeof raw);
    for (int kind = ORR_UNIT_TIME; kind <= ORR_UNIT_BW; kind++) {
        check_parse((enum orr_unit_kind)kind, text);
        check_roundtrip((enum orr_unit_kind)kind, raw);
    }
    free(text);
    return 0;
}
