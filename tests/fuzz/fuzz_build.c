/* libFuzzer target for everything behind the config layer: any bytes, as a
 * scenario file, validated and built with every built-in component type
 * and builder (machine:, cluster: with node templates, links, faults,
 * budgets) and started, but not run. Bad input must come back as
 * diagnostics: nothing may crash, leak or hang. Seeds: the scenarios in
 * scenarios/ (tests/fuzz/CMakeLists.txt). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/registry.h"
#include "orrery/diag.h"
#include "orrery/scenario.h"

static char g_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_path[0]) {
        snprintf(g_path, sizeof g_path, "/tmp/orrery-fuzz-build-%d.yaml", (int)getpid());
    }
    FILE *f = fopen(g_path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    struct orr_scenario sc;
    struct orr_diag d;
    orr_diag_init(&d);
    orr_scenario_open(&sc, g_path, NULL, 0, NULL, orr_builtin_types, &d);
    char buf[512];
    for (size_t i = 0; i < d.nMsg; i++)
        orr_diag_format(&d.aMsg[i], buf, sizeof buf);
    orr_scenario_close(&sc);
    orr_diag_free(&d);
    return 0;
}
