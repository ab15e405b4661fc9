/* perftest: the ib_send_lat / ib_write_bw family of RDMA microbenchmarks
 * (linux-rdma/perftest) as a workload on an rnic's `host` port, through
 * verbs_host (docs/perftest.md). One instance per node: a client runs a
 * test across a list of message sizes against its peer, a server posts
 * receives and echoes what the test needs.
 *
 * How each figure is measured (the same as perftest's, except where said):
 *
 *   send_lat, write_lat  ping-pong; a sample is half the round trip, from
 *                        posting the ping to the pong's receive completion.
 *                        write_lat uses WRITE_IMM and the immediate's receive
 *                        completion where perftest polls the last byte of
 *                        the buffer (a host that reads memory is not
 *                        modelled here).
 *   read_lat, atomic_lat one WR at a time; a sample is post -> CQE.
 *   *_bw, atomic_rate    `outstanding` WRs in flight; after `warmup` have
 *                        completed, the clock starts; it stops at the last
 *                        completion: Gbit/s of payload and messages/s.
 *
 * Client states:
 *
 *   SETUP --on_connected (or no `connect`)--> RUN(size 0) --> ... -->
 *   RUN(size n-1) --last completion--> VERIFY --check done--> DONE
 *
 * Which test a node runs: `test`, or its pair's entry of `pair_tests`.
 *
 * Server: SETUP --connected--> SERVE (echo or sink: until it has seen every
 * message the client will send; passive tests: done at once) --> DONE.
 *
 * Host memory at `buffers` (both nodes use the same layout and the same
 * `buffers`, which stands in for perftest's address exchange):
 *
 *   +0        the connection manager's receive buffers (4 KiB)
 *   +4KiB     the atomic target word; +4KiB+64 the local atomic result
 *   +64KiB    TX: the source of non-inline SEND/WRITE (max size bytes)
 *   +RX_OFF   RX: receives land here, remote WRITEs target it, READs read it
 *
 * Invariants:
 *   1. RUN: nDone <= nPosted <= total, and nPosted - nDone <= outstanding
 *      (bandwidth tests) or <= 1 (latency tests).
 *   2. A latency sample is recorded only for iterations >= warmup.
 *   3. orr_workload_done is called exactly once (bDone). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verbs_host.h"

#include "orrery/error.h"
#include "orrery/units.h"

#define PT_MAX_SIZES 32u
#define PT_CM_OFF 0u
#define PT_ATOMIC_OFF 4096u
#define PT_RESULT_OFF (4096u + 64u)
#define PT_TX_OFF (64u * 1024u)
#define PT_ALIGN (64u * 1024u)

/* wr_id spaces: data WRs carry their sequence number within a size */
#define WR_RECV (UINT64_C(1) << 62)
#define WR_VERIFY (UINT64_C(1) << 61)
#define COOKIE_CQ 1u
#define COOKIE_QP 2u

enum role { ROLE_CLIENT, ROLE_SERVER, ROLE_AUTO };
enum style { PINGPONG, ROUNDTRIP, STREAM };
enum serve { SERVE_ECHO, SERVE_SINK, SERVE_PASSIVE };
enum qpt_bit { Q_RC = 1, Q_UC = 2, Q_UD = 4 };

/* One row per test: everything that differs between them. */
struct test_desc {
    const char *name;
    enum style style;
    enum serve serve;
    uint8_t opcode;   /* the client's data WR (atomics: chosen by `atomic`) */
    uint8_t qpMask;   /* QP types the test accepts */
    bool bAtomic;
};

static const struct test_desc tests[] = {
    {"send_lat", PINGPONG, SERVE_ECHO, RDMA_OP_SEND, Q_RC | Q_UC | Q_UD, false},
    {"read_lat", ROUNDTRIP, SERVE_PASSIVE, RDMA_OP_READ, Q_RC, false},
    {"write_lat", PINGPONG, SERVE_ECHO, RDMA_OP_WRITE_IMM, Q_RC | Q_UC, false},
    {"atomic_lat", ROUNDTRIP, SERVE_PASSIVE, RDMA_OP_FAA, Q_RC, true},
    {"send_bw", STREAM, SERVE_SINK, RDMA_OP_SEND, Q_RC | Q_UC | Q_UD, false},
    {"read_bw", STREAM, SERVE_PASSIVE, RDMA_OP_READ, Q_RC, false},
    {"write_bw", STREAM, SERVE_PASSIVE, RDMA_OP_WRITE, Q_RC | Q_UC, false},
    {"atomic_rate", STREAM, SERVE_PASSIVE, RDMA_OP_FAA, Q_RC, true},
};
#define N_TESTS (sizeof tests / sizeof tests[0])

static const char *const test_names[] = {"send_lat", "read_lat", "write_lat", "atomic_lat",
                                          "send_bw", "read_bw", "write_bw", "atomic_rate", NULL};
static const char *const role_names[] = {"client", "server", "auto", NULL};
static const char *const atomic_names[] = {"faa", "cas", NULL};
static const char *const qp_names[] = {"rc", "uc", "ud", NULL};

static const struct orr_param perftest_params[] = {
    {"node", ORR_P_UINT, "0", 0, "this node's fabric number (the cluster builder sets it)", NULL,
     0, 0xFFFFE},
    {"nodes", ORR_P_UINT, "0", 0,
     "nodes in the cluster (the cluster builder sets it); 0 = unknown, peer is not checked",
     NULL, 0, 0xFFFFF},
    {"role", ORR_P_ENUM, "auto", 0,
     "client runs the test, server answers; auto: even nodes are clients, odd ones servers",
     role_names},
    {"peer", ORR_P_INT, "-1", 0, "the other node; -1: node XOR 1 (pairs 0-1, 2-3, ...)", NULL,
     (uint64_t)-1, 0xFFFFE},
    {"test", ORR_P_ENUM, "send_lat", 0, "which benchmark (docs/perftest.md)", test_names},
    {"pair_tests", ORR_P_LIST, "[]", 0,
     "per-pair tests, so one cluster template runs a different test on each pair: entry i "
     "is the test of the pair whose client is node 2i; other pairs run `test`"},
    {"atomic", ORR_P_ENUM, "faa", 0, "atomic_lat/atomic_rate: fetch-and-add or compare-and-swap",
     atomic_names},
    {"qp", ORR_P_ENUM, "rc", 0, "transport: rc, uc (send and write tests), ud (send tests)",
     qp_names},
    {"sizes", ORR_P_LIST, "[8B]", ORR_PF_NONEMPTY,
     "message sizes, run in order (atomic tests ignore it: 8 bytes per operation)"},
    {"iters", ORR_P_UINT, "1000", ORR_PF_POSITIVE, "measured iterations per size", NULL, 1,
     100000000},
    {"warmup", ORR_P_UINT, "16", 0, "iterations per size before measuring", NULL, 0, 100000000},
    {"outstanding", ORR_P_UINT, "16", ORR_PF_POSITIVE,
     "bandwidth/rate tests: WRs kept in flight (perftest's tx_depth)", NULL, 1, 4096},
    {"cq_mod", ORR_P_UINT, "1", ORR_PF_POSITIVE,
     "bandwidth/rate tests: request a completion every this many WRs (and for the last)",
     NULL, 1, 4096},
    {"rx_depth", ORR_P_UINT, "512", ORR_PF_POSITIVE,
     "receive WRs the receiving side keeps posted", NULL, 1, 16384},
    {"inline", ORR_P_SIZE, "256B", 0,
     "SEND/WRITE payloads up to this many bytes go inline in the WR (at most 256B, "
     "RDMA_MAX_INLINE; the rnic's max_inline must allow it)", NULL, 0, RDMA_MAX_INLINE},
    {"buffers", ORR_P_SIZE, "16MiB", 0,
     "base of this workload's host memory (the same on every node; see docs/perftest.md)"},
    {"connect", ORR_P_BOOL, "true", 0,
     "false: skip the connection manager and post on a QP that is still in INIT (shows "
     "RDMA_WC_QP_STATE_ERR; set allow_errors)"},
    {"allow_errors", ORR_P_BOOL, "false", 0,
     "count error completions and end the test instead of failing the run"},
    {"", ORR_P_INCLUDE, .group = vh_cm_params}, /* cm_retry */
    {NULL},
};

static const struct orr_port_doc perftest_ports[] = {
    {"rnic", "to the node's rnic `host` port"},
    {NULL},
};

enum phase { PH_SETUP, PH_RUN, PH_VERIFY, PH_SERVE, PH_DONE };

struct perftest {
    struct verbs_host vh; /* first: callbacks recover the state from it */
    const struct test_desc *t;
    unsigned eTest;
    bool bClient, bCas, bConnect, bAllowErrors, bDone;
    enum rdma_qp_type qpt;
    uint32_t node, peer;
    uint64_t iters, warmup, total;
    uint32_t outstanding, cqMod, rxDepth, inlineMax;
    uint64_t buffers, rxOff;
    orr_time_t cmRetry;
    uint32_t aSize[PT_MAX_SIZES];
    unsigned nSize;
    uint32_t maxSize;
    /* setup */
    uint32_t cq, qpn, remoteQpn;
    enum phase ePhase;
    /* run: size index k and progress within it */
    unsigned k;
    uint64_t nPosted, nDone;
    orr_time_t tPost;         /* latency tests: when the outstanding WR was posted */
    orr_time_t t0;            /* stream tests: the clock's start */
    uint64_t n0;              /* completions before t0 */
    bool bClock;
    uint64_t atomicAdds;      /* adds the client made to the target word */
    uint64_t seq;             /* ping sequence across sizes (data check) */
    /* verify */
    unsigned verifyStep;
    uint64_t token;
    /* server */
    uint64_t nServed, nExpect;
    /* stats */
    struct orr_histogram *aLat[PT_MAX_SIZES];
    struct orr_value *aGbps[PT_MAX_SIZES], *aMpps[PT_MAX_SIZES];
    struct orr_value *mops;
    struct orr_counter *completed, *wcErrors, *checks;
    uint16_t kSize, kVerify; /* trace points */
    struct orr_value *firstError;
};

static struct perftest *pt_of(struct verbs_host *vh) { return (struct perftest *)vh; }

/* --- ending ------------------------------------------------------------------ */

static void pt_done(struct perftest *s)
{
    if (s->bDone)
        return;
    s->bDone = true;
    s->ePhase = PH_DONE;
    orr_workload_done(s->vh.c);
}

static bool pt_check(struct perftest *s, bool ok, const char *what, uint64_t got, uint64_t want)
{
    if (ok) {
        s->checks->v++;
        return true;
    }
    orr_sim_fail(s->vh.c, "%s data check failed: %s is %llu, expected %llu", tests[s->eTest].name,
                 what, (unsigned long long)got, (unsigned long long)want);
    pt_done(s);
    return false;
}

/* --- posting ----------------------------------------------------------------- */

static uint64_t rx_addr(const struct perftest *s) { return s->buffers + s->rxOff; }
static uint64_t tx_addr(const struct perftest *s) { return s->buffers + PT_TX_OFF; }

/* The bytes of a ping or inline payload: its sequence number, then a ramp. */
static void fill_inline(uint8_t *p, uint32_t len, uint64_t seq)
{
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seq + i);
    memcpy(p, &seq, len < 8 ? len : 8);
}

static void post_recv(struct perftest *s, uint64_t i)
{
    vh_post_recv(&s->vh, s->qpn, WR_RECV | i, rx_addr(s), s->maxSize);
}

/* A SEND or WRITE(_IMM) of len bytes: inline when it fits. */
static void post_payload(struct perftest *s, uint8_t op, uint32_t len, uint64_t wr_id,
                         uint32_t imm, uint32_t dnode, uint32_t dqpn, uint8_t flags)
{
    struct rdma_wr wr = {.wr_id = wr_id, .qpn = s->qpn, .opcode = op, .flags = flags,
                         .laddr = tx_addr(s), .length = len, .imm = imm, .raddr = rx_addr(s),
                         .ud_node = dnode, .ud_qpn = dqpn};
    if (len <= s->inlineMax) {
        wr.flags |= RDMA_F_INLINE;
        fill_inline(wr.inline_data, len, imm);
    }
    vh_post_send(&s->vh, &wr);
}

static void post_atomic(struct perftest *s, uint64_t wr_id, bool cas, uint64_t compare,
                        uint64_t swap_add, uint8_t flags)
{
    struct rdma_wr wr = {.wr_id = wr_id, .qpn = s->qpn, .opcode = cas ? RDMA_OP_CAS : RDMA_OP_FAA,
                         .flags = flags, .laddr = s->buffers + PT_RESULT_OFF, .length = 8,
                         .raddr = s->buffers + PT_ATOMIC_OFF, .compare = compare,
                         .swap_add = swap_add};
    vh_post_send(&s->vh, &wr);
}

/* The client's data WR number i of the current size. */
static void post_data(struct perftest *s, uint64_t i, uint8_t flags)
{
    uint32_t len = s->aSize[s->k];
    const struct test_desc *t = s->t;
    if (t->bAtomic) {
        /* CAS chains old -> old+1, so every CAS must find the value the last left */
        post_atomic(s, i, s->bCas, s->atomicAdds, s->bCas ? s->atomicAdds + 1 : 1, flags);
        s->atomicAdds++;
    } else if (t->opcode == RDMA_OP_READ) {
        struct rdma_wr wr = {.wr_id = i, .qpn = s->qpn, .opcode = RDMA_OP_READ, .flags = flags,
                             .laddr = rx_addr(s), .length = len, .raddr = rx_addr(s)};
        vh_post_send(&s->vh, &wr);
    } else {
        post_payload(s, t->opcode, len, i, (uint32_t)s->seq, s->peer, s->remoteQpn, flags);
    }
    s->seq++;
    s->nPosted++;
}

/* --- client: running sizes --------------------------------------------------- */

static void run_verify(struct perftest *s);

static void stream_fill(struct perftest *s)
{
    while (s->nPosted < s->total && s->nPosted - s->nDone < s->outstanding) {
        uint64_t i = s->nPosted;
        bool sig = (i + 1) % s->cqMod == 0 || i + 1 == s->total;
        post_data(s, i, sig ? RDMA_F_SIGNALED : 0);
    }
}

static void run_size(struct perftest *s)
{
    if (s->k == s->nSize) {
        run_verify(s);
        return;
    }
    s->ePhase = PH_RUN;
    s->nPosted = s->nDone = s->n0 = 0;
    s->bClock = false;
    if (s->t->style == STREAM) {
        if (s->warmup == 0) {
            s->t0 = orr_now(s->vh.c->sim);
            s->bClock = true;
        }
        stream_fill(s);
    } else {
        s->tPost = orr_now(s->vh.c->sim);
        post_data(s, 0, RDMA_F_SIGNALED);
    }
}

static void size_finished(struct perftest *s)
{
    orr_trace_point(s->vh.c, s->kSize, s->aSize[s->k], s->completed->v);
    if (s->t->style == STREAM) {
        orr_time_t dt = orr_now(s->vh.c->sim) - s->t0;
        uint64_t msgs = s->total - s->n0;
        double sec = (double)dt / (double)ORR_S;
        if (dt > 0) {
            double mps = (double)msgs / sec;
            if (s->t->bAtomic)
                s->mops->v = mps / 1e6;
            else {
                s->aMpps[s->k]->v = mps / 1e6;
                s->aGbps[s->k]->v = mps * s->aSize[s->k] * 8.0 / 1e9;
            }
        }
    }
    s->k++;
    run_size(s);
}

/* A latency sample of `ps` for the current iteration (nDone before the
 * increment). */
static void lat_sample(struct perftest *s, orr_time_t ps)
{
    if (s->nDone >= s->warmup)
        orr_histogram_add(s->aLat[s->k], (ps + ORR_NS / 2) / ORR_NS);
    s->completed->v++;
    s->nDone++;
    if (s->nDone == s->total) {
        size_finished(s);
        return;
    }
    s->tPost = orr_now(s->vh.c->sim);
    post_data(s, s->nDone, RDMA_F_SIGNALED);
}

static void client_send_cqe(struct perftest *s, const struct rdma_cqe *e)
{
    if (s->t->style == PINGPONG)
        return; /* the pong, not the ack, ends an iteration */
    if (s->t->opcode == RDMA_OP_READ &&
        !pt_check(s, e->byte_len == s->aSize[s->k], "a READ's byte_len", e->byte_len,
                  s->aSize[s->k]))
        return;
    if (s->t->style == ROUNDTRIP) {
        /* one at a time: FAA +1 and CAS n -> n+1 both find the adds so far */
        if (s->t->bAtomic && !pt_check(s, e->value == s->atomicAdds - 1,
                                       "the atomic's old value", e->value, s->atomicAdds - 1))
            return;
        lat_sample(s, orr_now(s->vh.c->sim) - s->tPost);
        return;
    }
    /* STREAM: a completion retires every WR up to it (post order) */
    uint64_t before = s->nDone;
    s->nDone = e->wr_id + 1;
    s->completed->v += s->nDone - before;
    if (s->t->bAtomic && !pt_check(s, e->value < s->atomicAdds, "an FAA's old value", e->value,
                                   s->atomicAdds))
        return;
    if (!s->bClock && s->nDone >= s->warmup) {
        s->bClock = true;
        s->t0 = orr_now(s->vh.c->sim);
        s->n0 = s->nDone;
    }
    if (s->nDone == s->total)
        size_finished(s);
    else
        stream_fill(s);
}

/* The pong of a ping-pong test. */
static void client_recv_cqe(struct perftest *s, const struct rdma_cqe *e)
{
    post_recv(s, e->wr_id & ~WR_RECV);
    if (s->ePhase != PH_RUN || s->t->style != PINGPONG)
        return;
    uint32_t len = s->aSize[s->k];
    uint64_t seq = s->seq - 1;
    if (!pt_check(s, e->byte_len == len, "the pong's byte_len", e->byte_len, len))
        return;
    if (s->t->opcode == RDMA_OP_WRITE_IMM &&
        !pt_check(s, e->has_imm && e->imm == (uint32_t)seq, "the pong's immediate", e->imm,
                  (uint32_t)seq))
        return;
    if (s->t->opcode == RDMA_OP_SEND && len >= 8 && len <= RDMA_CQE_INLINE && len <= s->inlineMax) {
        uint64_t got;
        memcpy(&got, e->inline_data, 8);
        if (!pt_check(s, got == (uint32_t)seq, "the pong's first word", got, (uint32_t)seq))
            return;
    }
    orr_time_t rtt = orr_now(s->vh.c->sim) - s->tPost;
    lat_sample(s, (rtt + 1) / 2);
}

/* --- client: checking what the test left behind -------------------------------- */

/* write tests (RC): WRITE a random token inline, then FAA(0) reads it back.
 * atomic tests: FAA(0) returns the number of adds. */
static void run_verify(struct perftest *s)
{
    s->ePhase = PH_VERIFY;
    bool writes = s->t->opcode == RDMA_OP_WRITE || s->t->opcode == RDMA_OP_WRITE_IMM;
    if (s->qpt != RDMA_QPT_RC || !(writes || s->t->bAtomic)) {
        pt_done(s);
        return;
    }
    if (s->t->bAtomic) {
        s->verifyStep = 2;
        post_atomic(s, WR_VERIFY | 2, false, 0, 0, RDMA_F_SIGNALED);
        return;
    }
    s->verifyStep = 1;
    s->token = orr_rng_next(&s->vh.c->rng);
    struct rdma_wr wr = {.wr_id = WR_VERIFY | 1, .qpn = s->qpn, .opcode = RDMA_OP_WRITE,
                         .flags = RDMA_F_SIGNALED | RDMA_F_INLINE, .length = 8,
                         .raddr = rx_addr(s)};
    memcpy(wr.inline_data, &s->token, 8);
    vh_post_send(&s->vh, &wr);
}

static void verify_cqe(struct perftest *s, const struct rdma_cqe *e)
{
    if (s->ePhase != PH_VERIFY || (e->wr_id & 0xFF) != s->verifyStep)
        return;
    if (s->verifyStep == 1) {
        s->verifyStep = 3;
        struct rdma_wr wr = {.wr_id = WR_VERIFY | 3, .qpn = s->qpn, .opcode = RDMA_OP_FAA,
                             .flags = RDMA_F_SIGNALED, .laddr = s->buffers + PT_RESULT_OFF,
                             .length = 8, .raddr = rx_addr(s)};
        vh_post_send(&s->vh, &wr);
        return;
    }
    uint64_t want = s->verifyStep == 2 ? s->atomicAdds : s->token;
    orr_trace_point(s->vh.c, s->kVerify, want, e->value);
    if (pt_check(s, e->value == want,
                 s->verifyStep == 2 ? "the target word" : "the written word", e->value, want))
        pt_done(s);
}

/* --- server ---------------------------------------------------------------------- */

static void server_recv_cqe(struct perftest *s, const struct rdma_cqe *e)
{
    post_recv(s, e->wr_id & ~WR_RECV);
    if (s->ePhase != PH_SERVE)
        return;
    /* the k-th size holds messages [k*total, (k+1)*total) */
    uint32_t want = s->aSize[s->nServed / s->total < s->nSize ? s->nServed / s->total : 0];
    if (s->qpt == RDMA_QPT_RC &&
        !pt_check(s, e->byte_len == want, "a received message's byte_len", e->byte_len, want))
        return;
    if (s->t->serve == SERVE_ECHO) {
        uint32_t seq = s->t->opcode == RDMA_OP_WRITE_IMM ? e->imm : (uint32_t)s->nServed;
        if (s->t->opcode == RDMA_OP_SEND && e->byte_len >= 8 && e->byte_len <= RDMA_CQE_INLINE &&
            e->byte_len <= s->inlineMax) {
            uint64_t got;
            memcpy(&got, e->inline_data, 8);
            if (!pt_check(s, got == seq, "the ping's first word", got, seq))
                return;
        }
        uint32_t dnode = s->qpt == RDMA_QPT_UD ? e->src_node : s->peer;
        uint32_t dqpn = s->qpt == RDMA_QPT_UD ? e->src_qpn : s->remoteQpn;
        post_payload(s, s->t->opcode, e->byte_len, s->nServed, seq, dnode, dqpn,
                     RDMA_F_SIGNALED);
    }
    s->completed->v++;
    if (++s->nServed == s->nExpect)
        pt_done(s);
}

/* --- completions and control ------------------------------------------------------ */

static void on_cqe(struct verbs_host *vh, const struct rdma_cqe *e)
{
    struct perftest *s = pt_of(vh);
    if (e->status != RDMA_WC_SUCCESS) {
        s->wcErrors->v++;
        if (s->wcErrors->v == 1)
            s->firstError->v = e->status;
        if (!s->bAllowErrors)
            orr_sim_fail(vh->c, "%s: WR %llu on QP %u completed with error: %s (status %u)",
                         s->t->name, (unsigned long long)(e->wr_id & ~(WR_RECV | WR_VERIFY)),
                         e->qpn, rdma_wc_status_str((enum rdma_wc_status)e->status), e->status);
        pt_done(s);
        return;
    }
    if (s->ePhase == PH_DONE)
        return;
    bool recv = e->opcode == RDMA_WC_RECV || e->opcode == RDMA_WC_RECV_RDMA_WITH_IMM;
    if (recv)
        (s->bClient ? client_recv_cqe : server_recv_cqe)(s, e);
    else if (e->wr_id & WR_VERIFY)
        verify_cqe(s, e);
    else if (s->bClient && s->ePhase == PH_RUN)
        client_send_cqe(s, e);
}

static void begin(struct perftest *s)
{
    if (s->bClient) {
        run_size(s);
        return;
    }
    s->ePhase = PH_SERVE;
    if (s->t->serve == SERVE_PASSIVE || !s->bConnect)
        pt_done(s);
}

static void on_connected(struct verbs_host *vh, uint32_t peer, uint32_t tag, uint32_t qpn)
{
    struct perftest *s = pt_of(vh);
    if (qpn == 0) {
        orr_sim_fail(vh->c, "could not connect to node %u (no answer from its connection "
                     "manager)", peer);
        pt_done(s);
        return;
    }
    if (s->qpt == RDMA_QPT_UD) /* the exchange told us the peer's datagram QP */
        s->remoteQpn = vh_cm_peer_qpn(vh, peer, tag);
    begin(s);
}

static void on_ctl(struct verbs_host *vh, const struct rdma_ctl *ctl)
{
    struct perftest *s = pt_of(vh);
    if (ctl->result <= 0) {
        orr_sim_fail(vh->c, "control verb %u failed (%lld)", ctl->op, (long long)ctl->result);
        pt_done(s);
        return;
    }
    uint32_t depth = s->outstanding > s->rxDepth ? s->outstanding : s->rxDepth;
    if (ctl->cookie == COOKIE_CQ) {
        s->cq = (uint32_t)ctl->result;
        vh_create_qp(vh, s->qpt, s->cq, s->cq, depth + 8, COOKIE_QP);
    } else if (ctl->cookie == COOKIE_QP) {
        s->qpn = (uint32_t)ctl->result;
        /* receives first: the peer's first message may follow our HELLO */
        bool receives =
            s->t->style == PINGPONG || (!s->bClient && s->t->serve != SERVE_PASSIVE);
        uint32_t n = s->t->style == PINGPONG ? 4 : s->rxDepth;
        for (uint32_t i = 0; receives && i < n; i++)
            post_recv(s, i);
        if (!s->bConnect)
            begin(s);
        else if (s->qpt == RDMA_QPT_UD)
            vh_cm_exchange(vh, s->peer, 0, s->qpn);
        else
            vh_cm_connect(vh, s->peer, 0, s->qpn);
    }
}

static void on_cm_ready(struct verbs_host *vh)
{
    struct perftest *s = pt_of(vh);
    uint32_t n = s->outstanding + s->rxDepth + 64;
    vh_create_cq(vh, n, COOKIE_CQ);
}

/* --- the component ------------------------------------------------------------------ */

/* "components.perf.sizes": where a message about one key points. */
static const char *key_path(char *buf, size_t n, const char *base, const char *key)
{
    snprintf(buf, n, "%s.%s", base, key);
    return buf;
}

static int parse_sizes(struct perftest *s, const struct orr_params *p, const char *kp,
                       struct orr_diag *d)
{
    size_t n;
    const char *const *v = orr_param_list(p, "sizes", &n);
    const struct orr_mark *m = orr_param_mark(p, "sizes");
    char buf[256];
    kp = key_path(buf, sizeof buf, kp, "sizes");
    if (n > PT_MAX_SIZES) {
        orr_diag_error(d, m, kp, "at most %u sizes (got %zu)", PT_MAX_SIZES, n);
        return ORR_ESCHEMA;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t b;
        const char *why;
        if (orr_unit_parse(ORR_UNIT_SIZE, v[i], &b, &why) != 0) {
            orr_diag_error(d, m, kp, "'%s': %s", v[i], why);
            rc = ORR_ESCHEMA;
        } else if (b == 0 || b > 64u * 1024 * 1024) {
            orr_diag_error(d, m, kp, "'%s' must be between 1B and 64MiB", v[i]);
            rc = ORR_ESCHEMA;
        } else if (!s->t->bAtomic) {
            s->aSize[s->nSize++] = (uint32_t)b;
            if (b > s->maxSize)
                s->maxSize = (uint32_t)b;
        }
    }
    if (s->t->bAtomic) {
        s->aSize[0] = s->maxSize = 8;
        s->nSize = 1;
    }
    return rc;
}

/* The test: `test`, or this pair's entry of pair_tests. */
static int pick_test(struct perftest *s, const struct orr_params *p, const char *kp,
                     struct orr_diag *d)
{
    size_t n;
    const char *const *v = orr_param_list(p, "pair_tests", &n);
    s->eTest = orr_param_enum(p, "test");
    uint32_t pair = (s->bClient ? s->node : s->peer) / 2;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned k = 0;
        while (test_names[k] && strcmp(test_names[k], v[i]) != 0)
            k++;
        if (!test_names[k]) {
            char buf[256];
            orr_diag_error(d, orr_param_mark(p, "pair_tests"),
                           key_path(buf, sizeof buf, kp, "pair_tests"),
                           "unknown test '%s' (one of send_lat, read_lat, write_lat, "
                           "atomic_lat, send_bw, read_bw, write_bw, atomic_rate)", v[i]);
            rc = ORR_ESCHEMA;
        } else if (i == pair) {
            s->eTest = k;
        }
    }
    s->t = &tests[s->eTest];
    return rc;
}

static void add_stats(struct orr_component *c, struct perftest *s)
{
    for (unsigned i = 0; s->bClient && i < s->nSize; i++) {
        char sz[32], name[64];
        orr_unit_format(ORR_UNIT_SIZE, s->aSize[i], sz, sizeof sz);
        if (s->t->style != STREAM) {
            snprintf(name, sizeof name, "lat.%s", sz);
            s->aLat[i] = orr_histogram_new(c, name, "ns");
        } else if (!s->t->bAtomic) {
            snprintf(name, sizeof name, "gbps.%s", sz);
            s->aGbps[i] = orr_value_new(c, name, "Gbit/s");
            snprintf(name, sizeof name, "mpps.%s", sz);
            s->aMpps[i] = orr_value_new(c, name, "Mmsg/s");
        }
    }
    if (s->bClient && s->t->bAtomic && s->t->style == STREAM)
        s->mops = orr_value_new(c, "mops", "Mop/s");
    s->completed = orr_counter_new(c, "iterations", "op");
    s->wcErrors = orr_counter_new(c, "wc_errors", "cqe");
    s->firstError = orr_value_new(c, "first_wc_error", "status");
    s->checks = orr_counter_new(c, "data_checks", "check");
    s->kSize = orr_trace_kind(c, "perftest.size_done");
    s->kVerify = orr_trace_kind(c, "perftest.verify");
}

static int perftest_create(struct orr_component *c, const struct orr_params *p,
                           struct orr_diag *d)
{
    struct perftest *s = c->state;
    char kp[256];
    int rc = 0;
    s->node = (uint32_t)orr_param_u64(p, "node");
    uint64_t nodes = orr_param_u64(p, "nodes");
    int64_t peer = orr_param_int(p, "peer");
    s->peer = peer < 0 ? s->node ^ 1u : (uint32_t)peer;
    unsigned role = orr_param_enum(p, "role");
    s->bClient = role == ROLE_AUTO ? (s->node & 1u) == 0 : role == ROLE_CLIENT;
    if (pick_test(s, p, c->keypath, d))
        return ORR_ESCHEMA;
    s->bCas = orr_param_enum(p, "atomic") == 1;
    s->qpt = (enum rdma_qp_type)(RDMA_QPT_RC + orr_param_enum(p, "qp"));
    s->iters = orr_param_u64(p, "iters");
    s->warmup = orr_param_u64(p, "warmup");
    s->total = s->iters + s->warmup;
    s->outstanding = (uint32_t)orr_param_u64(p, "outstanding");
    s->cqMod = (uint32_t)orr_param_u64(p, "cq_mod");
    s->rxDepth = (uint32_t)orr_param_u64(p, "rx_depth");
    s->inlineMax = (uint32_t)orr_param_u64(p, "inline");
    s->buffers = orr_param_u64(p, "buffers");
    s->bConnect = orr_param_bool(p, "connect");
    s->bAllowErrors = orr_param_bool(p, "allow_errors");
    s->cmRetry = orr_param_u64(p, "cm_retry");
    if (s->peer == s->node || (nodes && s->peer >= nodes)) {
        orr_diag_error(d, orr_param_mark(p, "peer"),
                       key_path(kp, sizeof kp, c->keypath, "peer"),
                       "peer %u must be another node of the cluster (this is node %u of %llu)",
                       s->peer, s->node, (unsigned long long)nodes);
        rc = ORR_ESCHEMA;
    }
    if (!(s->t->qpMask & (1u << (s->qpt - RDMA_QPT_RC)))) {
        orr_diag_error(d, orr_param_mark(p, "qp"),
                       key_path(kp, sizeof kp, c->keypath, "qp"),
                       "%s needs %s (got %s)", s->t->name,
                       s->t->qpMask & Q_UD ? "rc, uc or ud"
                       : s->t->qpMask & Q_UC ? "rc or uc" : "rc",
                       qp_names[s->qpt - RDMA_QPT_RC]);
        rc = ORR_ESCHEMA;
    }
    if (s->buffers % 4096) {
        orr_diag_error(d, orr_param_mark(p, "buffers"),
                       key_path(kp, sizeof kp, c->keypath, "buffers"),
                       "buffers must be a multiple of 4KiB");
        rc = ORR_ESCHEMA;
    }
    if (s->cqMod > s->outstanding) {
        orr_diag_error(d, orr_param_mark(p, "cq_mod"),
                       key_path(kp, sizeof kp, c->keypath, "cq_mod"),
                       "cq_mod %u is above outstanding %u: the client would wait for a "
                       "completion it never asked for", s->cqMod, s->outstanding);
        rc = ORR_ESCHEMA;
    }
    if (parse_sizes(s, p, c->keypath, d))
        rc = ORR_ESCHEMA;
    if (rc)
        return rc;
    s->rxOff = PT_TX_OFF + (s->maxSize + PT_ALIGN - 1) / PT_ALIGN * PT_ALIGN;
    s->nExpect = s->total * s->nSize;
    vh_init(&s->vh, c, "rnic", s->node,
            &(struct vh_callbacks){.on_ctl = on_ctl, .on_cqe = on_cqe,
                                   .on_connected = on_connected, .on_cm_ready = on_cm_ready},
            s);
    add_stats(c, s);
    return 0;
}

static int perftest_start(struct orr_component *c, struct orr_diag *d)
{
    struct perftest *s = c->state;
    if (vh_check_linked(&s->vh, d))
        return ORR_ESCHEMA;
    if (s->bConnect)
        vh_cm_start(&s->vh, s->cmRetry, 100, s->buffers + PT_CM_OFF);
    else if (s->bClient)
        on_cm_ready(&s->vh);
    else
        begin(s);
    return 0;
}

static void perftest_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct perftest *s = c->state;
    vh_handle(&s->vh, ev);
}

static void perftest_destroy(struct orr_component *c)
{
    struct perftest *s = c->state;
    if (s->vh.c)
        vh_destroy(&s->vh);
}

static const struct orr_metric_doc perftest_metrics[] = {
    VH_METRICS,
    {"lat.<SIZE...>", "ns", ORR_METRIC_HISTOGRAM,
     "latency tests (client): samples at message size SIZE, e.g. lat.64B"},
    {"gbps.<SIZE...>", "Gbit/s", ORR_METRIC_VALUE,
     "bandwidth tests (client): payload rate at message size SIZE"},
    {"mpps.<SIZE...>", "Mmsg/s", ORR_METRIC_VALUE,
     "bandwidth tests (client): message rate at message size SIZE"},
    {"mops", "Mop/s", ORR_METRIC_VALUE, "atomic_rate (client): atomic operations per second"},
    {"iterations", "op", ORR_METRIC_COUNTER, "iterations completed, over every size"},
    {"wc_errors", "cqe", ORR_METRIC_COUNTER, "completions with an error status"},
    {"first_wc_error", "status", ORR_METRIC_VALUE,
     "status of the first error completion (0: none)"},
    {"data_checks", "check", ORR_METRIC_COUNTER,
     "data checks that passed (a failed one fails the run)"},
    {NULL},
};

const struct orr_component_type orr_perftest_type = {
    .name = "perftest",
    .summary = "RDMA microbenchmarks (ib_send_lat, ib_write_bw, ...) over an rnic's verbs",
    .params = perftest_params,
    .ports = perftest_ports,
    .metrics = perftest_metrics,
    .state_size = sizeof(struct perftest),
    .workload = true,
    .create = perftest_create,
    .start = perftest_start,
    .handle = perftest_handle,
    .destroy = perftest_destroy,
};
