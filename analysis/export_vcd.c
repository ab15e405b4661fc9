/* IEEE 1364 value change dump for waveform viewers (GTKWave, Surfer, ...).
 * Two passes: the first finds which (component, kind) pairs and which link
 * directions occur, so the header declares only signals that change; the
 * second writes the changes.
 *
 *   $timescale 1ps     times are the records' picoseconds
 *   scope per component (named by its path, '.' and other characters a
 *                       reference may not hold become '_'), with a 64-bit
 *                       wire per record kind it has: the value is the
 *                       record's `a` field
 *   scope "links"       a real per used link direction: the utilisation at
 *                       each arrival (exp_link_utilisation), 0 at the end
 * Every signal starts at 0 in $dumpvars at #0. A timestamp line is written
 * only when time advances, so they strictly increase. Several records of
 * the same kind at one instant leave the last value. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export_internal.h"
#include "orrery/error.h"

struct vcd {
    size_t nComp, nKind;      /* nComp includes the engine (last slot) */
    uint32_t *aVar;           /* (component slot, kind) -> var number + 1; 0 unused */
    uint32_t *aLinkVar;       /* (link, dir) -> var number + 1; 0 unused */
    uint32_t nVar;
    orr_time_t now;
    bool started;
};

static size_t slot(const struct exp_ctx *x, uint32_t comp)
{
    return comp < x->h->nComp ? comp : x->h->nComp;
}

static int mark(struct exp_ctx *x, const struct orr_trace_rec *r, void *arg)
{
    struct vcd *v = arg;
    if (r->kind < v->nKind)
        v->aVar[slot(x, r->comp) * v->nKind + r->kind] = 1;
    unsigned dir;
    uint32_t li;
    if (r->kind == ORR_TK_MSG && (li = exp_link_of(x, r->origin, r->comp, &dir)) != EXP_NONE &&
        x->aLink[li].bw_bps)
        v->aLinkVar[li * 2 + dir] = 1;
    return 0;
}

static void declare(struct exp_ctx *x, struct vcd *v)
{
    FILE *out = x->out;
    char id[8], name[256];
    fprintf(out, "$date\n  (not recorded: exports are reproducible)\n$end\n");
    fprintf(out, "$version\n  orrery export; trace by %s\n$end\n", x->h->build_id);
    fprintf(out, "$comment\n  scenario %s seed %" PRIu64 " events %" PRIu64 " digest %016" PRIx64
                 "\n$end\n",
            x->h->scenario, x->h->seed, x->f->nRec, x->f->digest);
    fprintf(out, "$timescale 1ps $end\n$scope module orrery $end\n");
    for (size_t c = 0; c < v->nComp; c++) {
        bool any = false;
        for (size_t k = 0; k < v->nKind && !any; k++)
            any = v->aVar[c * v->nKind + k] != 0;
        if (!any)
            continue;
        snprintf(name, sizeof name, "%s", c < x->h->nComp ? x->h->aCompPath[c] : "engine");
        exp_vcd_name(name);
        fprintf(out, "$scope module %s $end\n", name);
        for (size_t k = 0; k < v->nKind; k++) {
            uint32_t *p = &v->aVar[c * v->nKind + k];
            if (!*p)
                continue;
            *p = ++v->nVar;
            exp_vcd_id(id, *p - 1);
            snprintf(name, sizeof name, "%s", orr_trace_kind_name(x->h, (uint16_t)k));
            exp_vcd_name(name);
            fprintf(out, "$var wire 64 %s %s $end\n", id, name);
        }
        fprintf(out, "$upscope $end\n");
    }
    bool links = false;
    for (size_t i = 0; i < 2 * x->nLink; i++)
        links |= v->aLinkVar[i] != 0;
    if (links) {
        fprintf(out, "$scope module links $end\n");
        for (size_t i = 0; i < 2 * x->nLink; i++) {
            if (!v->aLinkVar[i])
                continue;
            v->aLinkVar[i] = ++v->nVar;
            exp_vcd_id(id, v->aLinkVar[i] - 1);
            snprintf(name, sizeof name, "%s%s", x->aLink[i / 2].name, i % 2 ? "_reverse" : "");
            exp_vcd_name(name);
            fprintf(out, "$var real 64 %s %s $end\n", id, name);
        }
        fprintf(out, "$upscope $end\n");
    }
    fprintf(out, "$upscope $end\n$enddefinitions $end\n#0\n$dumpvars\n");
    for (size_t i = 0; i < v->nComp * v->nKind; i++)
        if (v->aVar[i]) {
            exp_vcd_id(id, v->aVar[i] - 1);
            fprintf(out, "b0 %s\n", id);
        }
    for (size_t i = 0; i < 2 * x->nLink; i++)
        if (v->aLinkVar[i]) {
            exp_vcd_id(id, v->aLinkVar[i] - 1);
            fprintf(out, "r0 %s\n", id);
        }
    fprintf(out, "$end\n");
}

static void at(struct exp_ctx *x, struct vcd *v, orr_time_t t)
{
    if (t > v->now) {
        fprintf(x->out, "#%" PRIu64 "\n", t);
        v->now = t;
    }
}

static int change(struct exp_ctx *x, const struct orr_trace_rec *r, void *arg)
{
    struct vcd *v = arg;
    char id[8], bin[65];
    if (r->kind >= v->nKind)
        return 0;
    at(x, v, r->time);
    exp_vcd_id(id, v->aVar[slot(x, r->comp) * v->nKind + r->kind] - 1);
    exp_vcd_bin(bin, r->a);
    fprintf(x->out, "b%s %s\n", bin, id);
    unsigned dir;
    uint32_t li;
    if (r->kind == ORR_TK_MSG && (li = exp_link_of(x, r->origin, r->comp, &dir)) != EXP_NONE &&
        v->aLinkVar[li * 2 + dir]) {
        double u = exp_link_utilisation(&x->aLink[li], dir, r->time, r->size);
        if (u >= 0) {
            exp_vcd_id(id, v->aLinkVar[li * 2 + dir] - 1);
            fprintf(x->out, "r%.6g %s\n", u, id);
        }
    }
    return 0;
}

int exp_vcd(struct exp_ctx *x)
{
    struct vcd v = {.nComp = x->h->nComp + 1, .nKind = x->h->nKind > ORR_TK_FIRST_USER
                                                           ? x->h->nKind
                                                           : ORR_TK_FIRST_USER};
    v.aVar = calloc(v.nComp * v.nKind, sizeof *v.aVar);
    v.aLinkVar = calloc(2 * x->nLink + 1, sizeof *v.aLinkVar);
    int rc = v.aVar && v.aLinkVar ? 0 : ORR_ENOMEM;
    if (rc == 0)
        rc = exp_each(x, mark, &v);
    if (rc == 0) {
        declare(x, &v);
        rc = exp_each(x, change, &v);
    }
    if (rc == 0) { /* the run's end: links fall idle */
        char id[8];
        at(x, &v, x->f->sim_time);
        for (size_t i = 0; i < 2 * x->nLink; i++)
            if (v.aLinkVar[i]) {
                exp_vcd_id(id, v.aLinkVar[i] - 1);
                fprintf(x->out, "r0 %s\n", id);
            }
    }
    free(v.aVar);
    free(v.aLinkVar);
    return rc;
}
