/* Coherence protocols as data.
 *
 * A protocol is two tables interpreted by one engine each:
 *
 *   - the cache table: (cache state × event) -> (actions, next state), with
 *     stable states I S E O M and transient states for a request or a
 *     writeback in flight;
 *   - the home plan: (directory state × request) -> which caches to probe,
 *     whether to read memory, and what to grant. The snooping variant keeps
 *     no directory and probes every other cache in the socket; the directory
 *     variant tracks an owner and a sharer set and probes only those.
 *
 * MSI, MESI and MOESI share one base cache table; each protocol lists the
 * cells where it differs (MSI never sees DATA_E; MOESI keeps dirty data in
 * O when probed for sharing). Adding a protocol means adding a table entry
 * in protocol.c, not a controller. `orrery graph --protocol NAME` and the
 * docs render these tables; coh_protocol_dump prints them as text.
 *
 * Mutations inject known bugs into a copy of a protocol (a debug option of
 * the machine) so tests can prove that the checkers catch them.
 *
 * A library inside the cache models and homes, not a component type. */
#ifndef HW_CACHE_PROTOCOL_H
#define HW_CACHE_PROTOCOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "orrery/params.h"

enum coh_state {
    CS_I, CS_S, CS_E, CS_O, CS_M,
    CS_IS_D,  /* GETS sent, waiting for data */
    CS_IM_D,  /* GETM sent from I, waiting for data */
    CS_SM_D,  /* GETM sent from S (upgrade): own copy still readable */
    CS_OM_D,  /* GETM sent from O: own dirty copy still readable, still owner */
    CS_MI_A,  /* PUT sent from M or O: waiting for WB_GO */
    CS_II_A,  /* PUT overtaken by a probe: waiting for WB_GO to cancel */
    CS_NSTATE
};

enum coh_event {
    CE_LOAD, CE_STORE, CE_REPL,
    CE_PROBE_S, CE_PROBE_M,
    CE_DATA_S, CE_DATA_E, CE_DATA_M,
    CE_WB_GO,
    CE_NEVENT
};

/* Cache actions, executed in this order when several are set. */
enum {
    CA_ERROR = 1u << 0,     /* this event cannot happen in this state: protocol bug */
    CA_STALL = 1u << 1,     /* the core's request waits until the line is stable */
    CA_FILL = 1u << 2,      /* copy the grant's payload into the line */
    CA_HIT_R = 1u << 3,     /* perform the load */
    CA_HIT_W = 1u << 4,     /* perform the store or atomic */
    CA_GETS = 1u << 5,
    CA_GETM = 1u << 6,
    CA_PUT = 1u << 7,
    CA_ACK = 1u << 8,       /* answer a probe (flags from the states) */
    CA_ACK_DATA = 1u << 9,  /* answer a probe with the line */
    CA_UNBLOCK = 1u << 10,
    CA_WB_DATA = 1u << 11,
    CA_WB_CANCEL = 1u << 12,
    CA_DEALLOC = 1u << 13,  /* free the line's frame */
};

struct coh_cell {
    uint16_t actions;
    uint8_t next;
};

/* Properties of a state that the engines and checkers read. */
struct coh_state_info {
    const char *name;
    bool stable;
    uint8_t perm;  /* 0 none, 1 read, 2 write */
    bool owner;    /* responsible for dirty data */
    bool dirty;    /* data newer than memory */
    bool valid;    /* holds a current copy of the data */
};
extern const struct coh_state_info coh_states[CS_NSTATE];
extern const char *const coh_event_names[CE_NEVENT];

/* Directory states at a home (directory variant). */
enum coh_dir_state { HD_I, HD_S, HD_X, HD_O, HD_NSTATE };
enum coh_req { HR_GETS, HR_GETM, HR_NREQ };

enum coh_probe_set {
    HP_NONE,
    HP_OWNER,          /* the owner, unless it is the requester */
    HP_SHARERS,        /* every sharer but the requester */
    HP_OWNER_SHARERS,  /* owner and sharers, but not the requester */
    HP_ALL,            /* every other cache in the domain (snooping) */
};
enum coh_fetch { HF_NOW, HF_IF_CLEAN };
enum coh_grant { HG_S, HG_E_IF_ALONE, HG_M };

struct coh_plan {
    uint8_t probe; /* enum coh_probe_set */
    uint8_t kind;  /* probe message: 0 = PROBE_S, 1 = PROBE_M */
    uint8_t fetch; /* enum coh_fetch */
    uint8_t grant; /* enum coh_grant */
};

enum coh_variant { COH_SNOOP, COH_DIR };

struct coh_protocol {
    const char *name;        /* "mesi-dir" */
    const char *family;      /* "mesi" */
    enum coh_variant variant;
    bool has_e, has_o;
    const char *summary;
    struct coh_cell cache[CS_NSTATE][CE_NEVENT];
    /* snooping: one plan per request; directory: per state and request */
    struct coh_plan home[HD_NSTATE][HR_NREQ];
};

/* The shipped protocols, NULL-terminated, and lookup by name. */
extern const struct coh_protocol *const coh_protocols[];
const struct coh_protocol *coh_protocol_find(const char *name);
/* Names joined with ", " into buf, for messages. */
const char *coh_protocol_names(char *buf, size_t n);

/* Injected bugs, for the mutation tests. */
struct coh_mutation {
    const char *name;
    const char *help;
    bool home;               /* edits the home plan instead of the cache table */
    uint8_t state, event;    /* cache: state × event; home: dir state × request */
    struct coh_cell cell;    /* cache edit */
    struct coh_plan plan;    /* home edit */
    bool dir_only;           /* applies to directory variants only */
};
extern const struct coh_mutation coh_mutations[]; /* terminated by name NULL */
const struct coh_mutation *coh_mutation_find(const char *name);
/* A copy of p with m applied (caller frees with free()). */
struct coh_protocol *coh_protocol_mutate(const struct coh_protocol *p,
                                         const struct coh_mutation *m);

/* The keys every coherence agent (a core's caches, a home) shares with the
 * machine that builds them, declared once: protocol, mutation, check,
 * frequency. */
extern const struct orr_param coh_agent_params[];

/* The protocol a `protocol` key names: a full name ("mesi-dir"), or a
 * family ("mesi") meaning its snooping variant when snooping is true and
 * its directory variant otherwise. NULL if there is none. */
const struct coh_protocol *coh_protocol_resolve(const char *name, bool snooping);

/* An agent's protocol from its coh_agent_params keys in p: resolved (alone,
 * an agent is in a directory domain), with the mutation applied. *mutated
 * owns the mutated copy, if any (free() it once the agent is gone); errors
 * go to d at the keys' marks (ORR_ESCHEMA); ORR_ENOMEM. */
int coh_agent_protocol(const struct orr_params *p, const char *keypath,
                       const struct coh_protocol **proto, struct coh_protocol **mutated,
                       struct orr_diag *d);

/* The tables as text: one line per defined cell, "STATE EVENT -> actions NEXT". */
void coh_protocol_dump(const struct coh_protocol *p, FILE *f);
/* Action bits as "GETS|ACK" into buf. */
const char *coh_actions_str(unsigned actions, char *buf, size_t n);

#endif
