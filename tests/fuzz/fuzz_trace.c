/* libFuzzer target for the trace reader and the exporters: any bytes,
 * opened as a trace file, read to the end and sought around, then exported
 * in every format (whose tables come from the header and the configuration
 * it pins), must give records or an error, never a crash, a hang or a huge
 * allocation. Seeds: tests/fuzz/corpus/trace/
 * (written by `test_trace --write-corpus DIR`). Built with
 * FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, so XXH3 checksums are not
 * enforced and mutated headers and footers reach the decoders. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "analysis/export.h"
#include "orrery/trace.h"

static void read_all(struct orr_trace_reader *r, uint64_t limit)
{
    struct orr_trace_rec rec;
    for (uint64_t i = 0; i < limit && orr_trace_next(r, &rec) == 1; i++)
        (void)orr_trace_kind_name(orr_trace_header(r), rec.kind);
}

static void exercise(struct orr_trace_reader *r)
{
    uint64_t n = orr_trace_footer(r)->nRec;
    read_all(r, 4096);
    const uint64_t at[] = {n, n / 2, n ? n - 1 : 0, 1, 0, n + 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        if (orr_trace_seek(r, at[i]) == 0)
            read_all(r, 64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/orr_fuzz_trace_%ld.trace", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    struct orr_diag d = {0};
    struct orr_trace_reader *r;
    if (orr_trace_open(&r, path, &d) == 0) {
        exercise(r);
        /* exports read every record: only short traces, to stay fast */
        FILE *null = orr_trace_footer(r)->nRec <= 100000 ? fopen("/dev/null", "w") : NULL;
        const enum orr_export_format formats[] = {ORR_EXPORT_CHROME, ORR_EXPORT_FTRACE,
                                                  ORR_EXPORT_VCD};
        for (size_t i = 0; null && i < sizeof formats / sizeof formats[0]; i++)
            (void)orr_export_stream(r, formats[i], null, &d);
        if (null)
            fclose(null);
        orr_trace_close(r);
    }
    orr_diag_free(&d);
    unlink(path);
    return 0;
}
