/* Coherence protocols as neutral state machines (orrery/fsm.h), read from
 * the protocol tables (protocol.c) so `orrery graph --protocol` can draw
 * them without the CLI or analysis/ including hw/ headers. Exported
 * through orr_builtin_fsms (hw/registry.c).
 *
 * Two views of a protocol:
 *
 *   cache (view NULL): one state per cache state that the table uses, one
 *     edge per cell (state × event) with a next state, labelled
 *     "EVENT / ACTION,ACTION". ERROR and STALL cells are left out: they are
 *     not transitions. States no cell mentions (O in MESI) are left out.
 *   home (view "home"): the directory states (I S X O; O only with an O
 *     protocol) and, per (state, request), the plan as the edge label. The
 *     plan table says what the home does, not where the directory goes; the
 *     next state is derived the way home.c's maybe_grant updates it: a grant
 *     of M, or of E to a requester alone, leaves one owner (X); a grant of S
 *     leaves sharers (S), or O when the probed owner's cache table keeps
 *     ownership on PROBE_S (MOESI's M -> O). Writebacks (PUT) end in I, or S
 *     from O when sharers remain. Snooping variants keep no directory: one
 *     state with a self-loop per request.
 *
 * Families ("moesi") name their directory variant, as in the litmus and
 * machine docs' "directory otherwise". */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hw/protocol.h"
#include "orrery/error.h"
#include "orrery/fsm.h"

const char *coh_fsm_names(char *buf, size_t n);
int coh_fsm_build(const char *name, const char *view, struct orr_fsm *out, char *err, size_t n);

static char *dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dup_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc((size_t)len + 1);
    if (!s)
        orr_oom();
    va_start(ap, fmt);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return s;
}

static unsigned add_state(struct orr_fsm *f, const char *name, unsigned flags)
{
    f->aState = realloc(f->aState, (f->nState + 1) * sizeof *f->aState);
    if (!f->aState)
        orr_oom();
    f->aState[f->nState] = (struct orr_fsm_state){dup_printf("%s", name), flags, 0};
    return (unsigned)f->nState++;
}

/* Takes ownership of label. */
static void add_edge(struct orr_fsm *f, unsigned from, unsigned to, char *label)
{
    f->aEdge = realloc(f->aEdge, (f->nEdge + 1) * sizeof *f->aEdge);
    if (!f->aEdge)
        orr_oom();
    f->aEdge[f->nEdge++] = (struct orr_fsm_edge){from, to, label};
}

/* A protocol by name, or a family's directory variant. */
static const struct coh_protocol *resolve(const char *name)
{
    const struct coh_protocol *p = coh_protocol_find(name);
    for (size_t i = 0; !p && coh_protocols[i]; i++)
        if (strcmp(coh_protocols[i]->family, name) == 0 && coh_protocols[i]->variant == COH_DIR)
            p = coh_protocols[i];
    return p;
}

const char *coh_fsm_names(char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    /* the families first, in table order, each once */
    for (size_t i = 0; coh_protocols[i] && len < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen |= strcmp(coh_protocols[j]->family, coh_protocols[i]->family) == 0;
        if (!seen)
            len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? ", " : "",
                                    coh_protocols[i]->family);
    }
    for (size_t i = 0; coh_protocols[i] && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, ", %s", coh_protocols[i]->name);
    return buf;
}

/* A cell that is a transition: something happens and the line goes on. */
static bool is_transition(const struct coh_cell *c)
{
    return c->actions && !(c->actions & (CA_ERROR | CA_STALL));
}

static void build_cache(const struct coh_protocol *p, struct orr_fsm *f)
{
    bool used[CS_NSTATE] = {false};
    for (int s = 0; s < CS_NSTATE; s++)
        for (int e = 0; e < CE_NEVENT; e++)
            if (is_transition(&p->cache[s][e]))
                used[s] = used[p->cache[s][e].next] = true;
    unsigned index[CS_NSTATE];
    for (int s = 0; s < CS_NSTATE; s++)
        if (used[s])
            index[s] = add_state(f, coh_states[s].name,
                                 (coh_states[s].stable ? ORR_FSM_STABLE : 0) |
                                     (s == CS_I ? ORR_FSM_INITIAL : 0));
    for (int s = 0; s < CS_NSTATE; s++)
        for (int e = 0; e < CE_NEVENT; e++) {
            const struct coh_cell *c = &p->cache[s][e];
            if (!is_transition(c))
                continue;
            char acts[128];
            coh_actions_str(c->actions, acts, sizeof acts);
            for (char *q = acts; *q; q++)
                if (*q == '|')
                    *q = ',';
            add_edge(f, index[s], index[c->next],
                     dup_printf("%s / %s", coh_event_names[e], acts));
        }
}

static const char *const dir_names[HD_NSTATE] = {"I", "S", "X", "O"};
static const char *const req_names[HR_NREQ] = {"GETS", "GETM"};

/* "PROBE_S owner, memory if clean, grant S" */
static void plan_text(const struct coh_protocol *p, const struct coh_plan *h, char *buf, size_t n)
{
    static const char *const probe[] = {"", "owner", "sharers", "owner+sharers", "all"};
    size_t len = 0;
    if (h->probe != HP_NONE)
        len += (size_t)snprintf(buf, n, "%s %s, ", h->kind ? "PROBE_M" : "PROBE_S",
                                probe[h->probe]);
    const char *grant = h->grant == HG_M ? "M"
                        : h->grant == HG_E_IF_ALONE && p->has_e ? "E if alone"
                                                                : "S";
    snprintf(buf + len, n - len, "%s, grant %s",
             h->fetch == HF_NOW ? "read memory" : "memory if clean", grant);
}

static void build_home(const struct coh_protocol *p, struct orr_fsm *f)
{
    char plan[128];
    if (p->variant == COH_SNOOP) {
        unsigned only = add_state(f, "snoop", ORR_FSM_STABLE | ORR_FSM_INITIAL);
        for (int r = 0; r < HR_NREQ; r++) {
            plan_text(p, &p->home[HD_I][r], plan, sizeof plan);
            add_edge(f, only, only, dup_printf("%s / %s", req_names[r], plan));
        }
        return;
    }
    unsigned index[HD_NSTATE];
    for (int s = 0; s < HD_NSTATE; s++)
        if (s != HD_O || p->has_o)
            index[s] = add_state(f, dir_names[s], ORR_FSM_STABLE | (s == HD_I ? ORR_FSM_INITIAL : 0));
    for (int s = 0; s < HD_NSTATE; s++) {
        if (s == HD_O && !p->has_o)
            continue;
        for (int r = 0; r < HR_NREQ; r++) {
            const struct coh_plan *h = &p->home[s][r];
            plan_text(p, h, plan, sizeof plan);
            if (h->grant == HG_M || (h->grant == HG_E_IF_ALONE && p->has_e && s == HD_I)) {
                add_edge(f, index[s], index[HD_X], dup_printf("%s / %s", req_names[r], plan));
                continue;
            }
            /* a grant of S: where the probed owner's cache state goes on
             * PROBE_S decides between S and O */
            static const int owners[HD_NSTATE][2] = {
                [HD_I] = {-1, -1}, [HD_S] = {-1, -1}, [HD_X] = {CS_E, CS_M}, [HD_O] = {CS_O, -1}};
            bool any = false;
            for (int k = 0; k < 2; k++) {
                int o = owners[s][k];
                if (o < 0 || h->probe == HP_NONE || h->probe == HP_SHARERS ||
                    (o == CS_E && !p->has_e))
                    continue;
                unsigned next = p->cache[o][CE_PROBE_S].next == CS_O ? HD_O : HD_S;
                add_edge(f, index[s], index[next],
                         dup_printf("%s [owner %s] / %s", req_names[r], coh_states[o].name, plan));
                any = true;
            }
            if (!any)
                add_edge(f, index[s], index[HD_S], dup_printf("%s / %s", req_names[r], plan));
        }
    }
    /* writebacks: the owner's PUT, then WB_GO and its WB_DATA */
    add_edge(f, index[HD_X], index[HD_I], dup_printf("PUT / WB_GO, write back"));
    if (p->has_o) {
        add_edge(f, index[HD_O], index[HD_S], dup_printf("PUT [sharers] / WB_GO, write back"));
        add_edge(f, index[HD_O], index[HD_I], dup_printf("PUT [no sharers] / WB_GO, write back"));
    }
}

int coh_fsm_build(const char *name, const char *view, struct orr_fsm *out, char *err, size_t n)
{
    *out = (struct orr_fsm){0};
    const struct coh_protocol *p = resolve(name);
    if (!p) {
        char names[256];
        snprintf(err, n, "unknown protocol '%s'; expected one of: %s", name,
                 coh_fsm_names(names, sizeof names));
        return ORR_ENOENT;
    }
    bool home = view && strcmp(view, "home") == 0;
    if (view && !home) {
        snprintf(err, n, "unknown view '%s' of protocol '%s'; expected: home", view, name);
        return ORR_ENOENT;
    }
    out->name = dup_printf("%s", p->name);
    out->title = dup_printf("%s: %s (%s)", p->name, p->summary,
                            home ? (p->variant == COH_DIR ? "home agent: directory states"
                                                          : "home agent: no directory")
                                 : "cache controller");
    if (home)
        build_home(p, out);
    else
        build_cache(p, out);
    return 0;
}
