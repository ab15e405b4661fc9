/* The shipped coherence protocols: MSI, MESI and MOESI, each with a
 * snooping and a directory variant. See protocol.h for the model.
 *
 * Cache table (MESI, the base; "-" = impossible, an error if it happens):
 *
 *   state  LOAD        STORE        REPL         PROBE_S        PROBE_M          DATA_S/E/M            WB_GO
 *   I      GETS>IS_D   GETM>IM_D    -            ACK>I          ACK>I            -                     -
 *   S      hit         GETM>SM_D    drop>I       ACK>S          ACK,drop>I       -                     -
 *   E      hit         hit>M        drop>I       ACK>S          ACK,drop>I       -                     -
 *   M      hit         hit          PUT>MI_A     ACK+D>S        ACK+D,drop>I     -                     -
 *   IS_D   stall       stall        -            ACK            ACK              fill,hit>S / >E       -
 *   IM_D   stall       stall        -            ACK            ACK              DATA_M: fill,hit>M    -
 *   SM_D   hit         stall        -            ACK            ACK>IM_D         DATA_M: hit>M         -
 *   MI_A   stall       stall        -            ACK+D>II_A     ACK+D>II_A       -                     WB_DATA,drop>I
 *   II_A   stall       stall        -            ACK            ACK              -                     WB_CANCEL,drop>I
 *
 * Every grant is answered with UNBLOCK. MSI removes E (the home never
 * grants it). MOESI adds O: M probed for sharing keeps its dirty data as O
 * (ACK+D with OWNER) instead of handing it to memory, and O upgrades through
 * OM_D keeping its own copy. S and E are evicted silently; a probe that
 * finds such a line gone is answered with a plain ACK, which is why I
 * answers probes.
 *
 * The tables inherit by designated-initializer override (a later
 * [state][event] replaces the base's), which is why -Woverride-init is off
 * around them. */
#include "hw/protocol.h"

#include <stdlib.h>
#include <string.h>

#include "orrery/error.h"

const struct coh_state_info coh_states[CS_NSTATE] = {
    /*            name    stable perm owner dirty valid */
    [CS_I] = {"I", true, 0, false, false, false},
    [CS_S] = {"S", true, 1, false, false, true},
    [CS_E] = {"E", true, 2, true, false, true},
    [CS_O] = {"O", true, 1, true, true, true},
    [CS_M] = {"M", true, 2, true, true, true},
    [CS_IS_D] = {"IS_D", false, 0, false, false, false},
    [CS_IM_D] = {"IM_D", false, 0, false, false, false},
    [CS_SM_D] = {"SM_D", false, 1, false, false, true},
    [CS_OM_D] = {"OM_D", false, 1, true, true, true},
    [CS_MI_A] = {"MI_A", false, 0, true, true, true},
    [CS_II_A] = {"II_A", false, 0, false, false, false},
};

const char *const coh_event_names[CE_NEVENT] = {
    "LOAD", "STORE", "REPL", "PROBE_S", "PROBE_M", "DATA_S", "DATA_E", "DATA_M", "WB_GO",
};

#define C(a, n) {(uint16_t)(a), (uint8_t)(n)}
#define STALL_LS [CE_LOAD] = C(CA_STALL, 0), [CE_STORE] = C(CA_STALL, 0)

#define BASE_CACHE                                                                              \
    [CS_I] = {[CE_LOAD] = C(CA_GETS, CS_IS_D), [CE_STORE] = C(CA_GETM, CS_IM_D),                 \
              [CE_PROBE_S] = C(CA_ACK, CS_I), [CE_PROBE_M] = C(CA_ACK, CS_I)},                   \
    [CS_S] = {[CE_LOAD] = C(CA_HIT_R, CS_S), [CE_STORE] = C(CA_GETM, CS_SM_D),                   \
              [CE_REPL] = C(CA_DEALLOC, CS_I), [CE_PROBE_S] = C(CA_ACK, CS_S),                   \
              [CE_PROBE_M] = C(CA_ACK | CA_DEALLOC, CS_I)},                                     \
    [CS_E] = {[CE_LOAD] = C(CA_HIT_R, CS_E), [CE_STORE] = C(CA_HIT_W, CS_M),                     \
              [CE_REPL] = C(CA_DEALLOC, CS_I), [CE_PROBE_S] = C(CA_ACK, CS_S),                   \
              [CE_PROBE_M] = C(CA_ACK | CA_DEALLOC, CS_I)},                                     \
    [CS_M] = {[CE_LOAD] = C(CA_HIT_R, CS_M), [CE_STORE] = C(CA_HIT_W, CS_M),                     \
              [CE_REPL] = C(CA_PUT, CS_MI_A), [CE_PROBE_S] = C(CA_ACK_DATA, CS_S),               \
              [CE_PROBE_M] = C(CA_ACK_DATA | CA_DEALLOC, CS_I)},                                \
    [CS_IS_D] = {STALL_LS, [CE_PROBE_S] = C(CA_ACK, CS_IS_D), [CE_PROBE_M] = C(CA_ACK, CS_IS_D), \
                 [CE_DATA_S] = C(CA_FILL | CA_HIT_R | CA_UNBLOCK, CS_S),                        \
                 [CE_DATA_E] = C(CA_FILL | CA_HIT_R | CA_UNBLOCK, CS_E)},                       \
    [CS_IM_D] = {STALL_LS, [CE_PROBE_S] = C(CA_ACK, CS_IM_D), [CE_PROBE_M] = C(CA_ACK, CS_IM_D), \
                 [CE_DATA_M] = C(CA_FILL | CA_HIT_W | CA_UNBLOCK, CS_M)},                       \
    [CS_SM_D] = {[CE_LOAD] = C(CA_HIT_R, CS_SM_D), [CE_STORE] = C(CA_STALL, 0),                  \
                 [CE_PROBE_S] = C(CA_ACK, CS_SM_D), [CE_PROBE_M] = C(CA_ACK, CS_IM_D),           \
                 [CE_DATA_M] = C(CA_HIT_W | CA_UNBLOCK, CS_M)},                                  \
    [CS_MI_A] = {STALL_LS, [CE_PROBE_S] = C(CA_ACK_DATA, CS_II_A),                               \
                 [CE_PROBE_M] = C(CA_ACK_DATA, CS_II_A),                                         \
                 [CE_WB_GO] = C(CA_WB_DATA | CA_DEALLOC, CS_I)},                                 \
    [CS_II_A] = {STALL_LS, [CE_PROBE_S] = C(CA_ACK, CS_II_A), [CE_PROBE_M] = C(CA_ACK, CS_II_A), \
                 [CE_WB_GO] = C(CA_WB_CANCEL | CA_DEALLOC, CS_I)}

#define P(probe, kind, fetch, grant) {probe, kind, fetch, grant}
#define DIR_HOME                                                                                \
    [HD_I] = {[HR_GETS] = P(HP_NONE, 0, HF_NOW, HG_E_IF_ALONE),                                  \
              [HR_GETM] = P(HP_NONE, 1, HF_NOW, HG_M)},                                          \
    [HD_S] = {[HR_GETS] = P(HP_NONE, 0, HF_NOW, HG_S),                                           \
              [HR_GETM] = P(HP_SHARERS, 1, HF_NOW, HG_M)},                                       \
    [HD_X] = {[HR_GETS] = P(HP_OWNER, 0, HF_IF_CLEAN, HG_S),                                     \
              [HR_GETM] = P(HP_OWNER, 1, HF_IF_CLEAN, HG_M)},                                    \
    [HD_O] = {[HR_GETS] = P(HP_OWNER, 0, HF_IF_CLEAN, HG_S),                                     \
              [HR_GETM] = P(HP_OWNER_SHARERS, 1, HF_IF_CLEAN, HG_M)}
/* Snooping keeps no directory: the one plan per request sits in row I. */
#define SNOOP_HOME                                                                              \
    [HD_I] = {[HR_GETS] = P(HP_ALL, 0, HF_IF_CLEAN, HG_E_IF_ALONE),                              \
              [HR_GETM] = P(HP_ALL, 1, HF_IF_CLEAN, HG_M)}

/* MSI: no E. The home's E_IF_ALONE grants S when the protocol has no E. */
#define MSI_CACHE BASE_CACHE, [CS_E] = {{0}}, [CS_IS_D][CE_DATA_E] = C(CA_ERROR, 0)
/* MOESI: M probed for sharing becomes O; O serves reads and upgrades via OM_D. */
#define MOESI_CACHE                                                                             \
    BASE_CACHE, [CS_M][CE_PROBE_S] = C(CA_ACK_DATA, CS_O),                                       \
    [CS_O] = {[CE_LOAD] = C(CA_HIT_R, CS_O), [CE_STORE] = C(CA_GETM, CS_OM_D),                   \
              [CE_REPL] = C(CA_PUT, CS_MI_A), [CE_PROBE_S] = C(CA_ACK_DATA, CS_O),               \
              [CE_PROBE_M] = C(CA_ACK_DATA | CA_DEALLOC, CS_I)},                                \
    [CS_OM_D] = {[CE_LOAD] = C(CA_HIT_R, CS_OM_D), [CE_STORE] = C(CA_STALL, 0),                  \
                 [CE_PROBE_S] = C(CA_ACK_DATA, CS_OM_D), [CE_PROBE_M] = C(CA_ACK_DATA, CS_IM_D), \
                 [CE_DATA_M] = C(CA_HIT_W | CA_UNBLOCK, CS_M)}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
#if defined(__clang__)
#pragma GCC diagnostic ignored "-Winitializer-overrides"
#endif

static const struct coh_protocol msi_snoop = {
    "msi-snoop", "msi", COH_SNOOP, false, false,
    "MSI, broadcast probes from the home within one socket", {MSI_CACHE}, {SNOOP_HOME}};
static const struct coh_protocol msi_dir = {
    "msi-dir", "msi", COH_DIR, false, false,
    "MSI with a full-map directory at each home", {MSI_CACHE}, {DIR_HOME}};
static const struct coh_protocol mesi_snoop = {
    "mesi-snoop", "mesi", COH_SNOOP, true, false,
    "MESI, broadcast probes from the home within one socket", {BASE_CACHE}, {SNOOP_HOME}};
static const struct coh_protocol mesi_dir = {
    "mesi-dir", "mesi", COH_DIR, true, false,
    "MESI with a full-map directory at each home", {BASE_CACHE}, {DIR_HOME}};
static const struct coh_protocol moesi_snoop = {
    "moesi-snoop", "moesi", COH_SNOOP, true, true,
    "MOESI, broadcast probes from the home within one socket", {MOESI_CACHE}, {SNOOP_HOME}};
static const struct coh_protocol moesi_dir = {
    "moesi-dir", "moesi", COH_DIR, true, true,
    "MOESI with a full-map directory at each home", {MOESI_CACHE}, {DIR_HOME}};

#pragma GCC diagnostic pop

const struct coh_protocol *const coh_protocols[] = {
    &msi_snoop, &msi_dir, &mesi_snoop, &mesi_dir, &moesi_snoop, &moesi_dir, NULL,
};

const struct coh_protocol *coh_protocol_find(const char *name)
{
    for (size_t i = 0; coh_protocols[i]; i++)
        if (strcmp(coh_protocols[i]->name, name) == 0)
            return coh_protocols[i];
    return NULL;
}

const char *coh_protocol_names(char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    for (size_t i = 0; coh_protocols[i] && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", coh_protocols[i]->name);
    return buf;
}

/* ---------------------------------------------------------------- mutations */

const struct coh_mutation coh_mutations[] = {
    {"drop-inv-ack", "a sharer invalidates but never acknowledges (the home waits forever)",
     false, CS_S, CE_PROBE_M, C(CA_DEALLOC, CS_I), {0}, false},
    {"ignore-inv", "a sharer acknowledges an invalidation but keeps its copy", false, CS_S,
     CE_PROBE_M, C(CA_ACK, CS_S), {0}, false},
    {"owner-keeps-m", "an owner probed for sharing answers but stays in M", false, CS_M,
     CE_PROBE_S, C(CA_ACK_DATA, CS_M), {0}, false},
    {"lost-writeback", "an evicted dirty line is cancelled instead of written back", false,
     CS_MI_A, CE_WB_GO, C(CA_WB_CANCEL | CA_DEALLOC, CS_I), {0}, false},
    {"skip-sharers", "the directory grants M without invalidating sharers", true, HD_S, HR_GETM,
     {0}, P(HP_NONE, 1, HF_NOW, HG_M), true},
    {NULL},
};

const struct orr_param coh_agent_params[] = {
    {"protocol", ORR_P_STRING, "mesi", ORR_PF_NONEMPTY,
     "coherence protocol: a family (msi, mesi, moesi: snooping on a one-socket machine, a "
     "directory otherwise) or a full name such as mesi-dir (docs/coherence.md)"},
    {"mutation", ORR_P_STRING, "", 0, "debug: inject a known protocol bug (docs/coherence.md)"},
    {"check", ORR_P_BOOL, "true", 0,
     "check coherence invariants during the run (the coherence monitor: SWMR, data values)"},
    {"frequency", ORR_P_FREQ, "2GHz", ORR_PF_POSITIVE, "clock of the cores, their caches and the homes"},
    {NULL},
};

const struct coh_protocol *coh_protocol_resolve(const char *name, bool snooping)
{
    const struct coh_protocol *p = coh_protocol_find(name);
    for (size_t i = 0; !p && coh_protocols[i]; i++)
        if (strcmp(coh_protocols[i]->family, name) == 0 &&
            coh_protocols[i]->variant == (snooping ? COH_SNOOP : COH_DIR))
            p = coh_protocols[i];
    return p;
}

int coh_agent_protocol(const struct orr_params *p, const char *keypath,
                       const struct coh_protocol **proto, struct coh_protocol **mutated,
                       struct orr_diag *d)
{
    const char *name = orr_param_str(p, "protocol"), *mut = orr_param_str(p, "mutation");
    const struct coh_mutation *m = *mut ? coh_mutation_find(mut) : NULL;
    *mutated = NULL;
    *proto = coh_protocol_resolve(name, false);
    if (!*proto || (*mut && !m)) {
        char buf[256];
        orr_diag_error(d, orr_param_mark(p, *proto ? "mutation" : "protocol"), keypath,
                       *proto ? "unknown mutation '%s' (see docs/coherence.md)"
                              : "unknown coherence protocol '%s' (families: msi, mesi, moesi; "
                                "protocols: %s)",
                       *proto ? mut : name, coh_protocol_names(buf, sizeof buf));
        return ORR_ESCHEMA;
    }
    if (m) {
        if (!(*mutated = coh_protocol_mutate(*proto, m)))
            return ORR_ENOMEM;
        *proto = *mutated;
    }
    return 0;
}

const struct coh_mutation *coh_mutation_find(const char *name)
{
    for (size_t i = 0; coh_mutations[i].name; i++)
        if (strcmp(coh_mutations[i].name, name) == 0)
            return &coh_mutations[i];
    return NULL;
}

struct coh_protocol *coh_protocol_mutate(const struct coh_protocol *p,
                                         const struct coh_mutation *m)
{
    struct coh_protocol *q = malloc(sizeof *q);
    if (!q)
        orr_oom();
    *q = *p;
    if (m->home)
        q->home[m->state][m->event] = m->plan;
    else
        q->cache[m->state][m->event] = m->cell;
    return q;
}

/* -------------------------------------------------------------------- text */

static const char *const action_names[] = {
    "ERROR", "STALL", "FILL", "HIT_R", "HIT_W", "GETS", "GETM", "PUT",
    "ACK", "ACK_DATA", "UNBLOCK", "WB_DATA", "WB_CANCEL", "DEALLOC",
};

const char *coh_actions_str(unsigned actions, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    for (unsigned b = 0; b < sizeof action_names / sizeof *action_names && len < n; b++)
        if (actions & (1u << b))
            len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? "|" : "", action_names[b]);
    return buf;
}

void coh_protocol_dump(const struct coh_protocol *p, FILE *f)
{
    static const char *const probe[] = {"none", "owner", "sharers", "owner+sharers", "all"};
    static const char *const fetch[] = {"now", "if-clean"};
    static const char *const grant[] = {"S", "E-if-alone", "M"};
    static const char *const dstate[] = {"I", "S", "X", "O"};
    static const char *const req[] = {"GETS", "GETM"};
    char buf[128];
    fprintf(f, "# %s: %s\n# cache: state event -> actions next\n", p->name, p->summary);
    for (int s = 0; s < CS_NSTATE; s++)
        for (int e = 0; e < CE_NEVENT; e++) {
            const struct coh_cell *c = &p->cache[s][e];
            if (c->actions)
                fprintf(f, "%s %s -> %s %s\n", coh_states[s].name, coh_event_names[e],
                        coh_actions_str(c->actions, buf, sizeof buf),
                        c->actions & CA_STALL ? "-" : coh_states[c->next].name);
        }
    fprintf(f, "# home: %s -> probe kind fetch grant\n",
            p->variant == COH_DIR ? "dir-state request" : "request");
    for (int s = 0; s < (p->variant == COH_DIR ? HD_NSTATE : 1); s++)
        for (int r = 0; r < HR_NREQ; r++) {
            const struct coh_plan *h = &p->home[s][r];
            if (p->variant == COH_DIR)
                fprintf(f, "%s ", dstate[s]);
            fprintf(f, "%s -> %s %s %s %s\n", req[r], probe[h->probe],
                    h->kind ? "PROBE_M" : "PROBE_S", fetch[h->fetch], grant[h->grant]);
        }
}
