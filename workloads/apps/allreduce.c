/* allreduce: one node's part of an allreduce of `size` bytes per node
 * (uint32 elements, summed with wrap-around) over RC queue pairs on its
 * rnic, ring or binary tree, with the reduction done by the host at
 * `reduce_bandwidth` (docs/collectives.md).
 *
 * Ring (NCCL's ring allreduce). The vector is cut into N segments
 * (segment k: elements [kE/N, (k+1)E/N), so N need not divide E) and each
 * segment into chunks of `chunk` bytes (0: one chunk). There are
 * T = 2(N-1) steps; at step s node n sends segment
 *
 *   seg(n, s) = n - s            (mod N)   reduce-scatter, s < N-1
 *   seg(n, s) = n + 1 - (s-N+1)  (mod N)   all-gather,     s >= N-1
 *
 * to node n+1 as one WRITE_IMM per chunk (imm = s * maxChunks + j): into
 * the receiver's staging slot s during reduce-scatter, in place during
 * all-gather. seg(n-1, s) = seg(n, s+1), so chunk j of step s+1 can leave
 * as soon as chunk j of step s has arrived (and been reduced into the data:
 * reduce-scatter). That is the pipelining; a node is never more than one
 * step ahead per chunk, so the 2(N-1) staging slots are never reused.
 *
 * Tree. Node n's parent is (n-1)/2, its children 2n+1 and 2n+2 (< N). Up:
 * chunk j goes to the parent's staging slot for this child (WRITE_IMM,
 * imm = j) once the node has it from every child and has reduced it; at
 * the root it is final and goes down: WRITE_IMM in place to each child
 * (imm = 2^31 | j), which forwards it. Chunks pipeline through both trees.
 *
 * Verify: node n's element i starts as
 *   v(n, i) = A(n+1) + B i (2n+1) + C        (mod 2^32)
 * so the sum over nodes has the closed form
 *   S(i) = A N(N+1)/2 + B i N^2 + C N        (mod 2^32),
 * checked element by element at the end; result_checksum is
 * sum_i S(i) mod 2^32, for tests to recompute.
 *
 * Done when every expected chunk has arrived, every reduction is done and
 * every send has completed; rdma_app.h's failure policy covers the rest. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdma_app.h"
#include "orrery/error.h"

#define VA 0x9E3779B1u
#define VB 0x85EBCA77u
#define VC 0x165667B1u
#define DOWN_BIT 0x80000000u

enum { ALG_RING, ALG_TREE };
static const char *const algorithms[] = {"ring", "tree", NULL};
enum { TAG_REDUCED = 1 };

static const struct orr_param ar_params[] = {
    {"", ORR_P_INCLUDE, .group = rapp_params},
    {"algorithm", ORR_P_ENUM, "ring", 0, "ring (reduce-scatter + all-gather) or tree (binary: "
     "reduce to node 0, broadcast)", algorithms},
    {"size", ORR_P_SIZE, "1MiB", ORR_PF_POSITIVE, "bytes of uint32 elements per node"},
    {"chunk", ORR_P_SIZE, "0B", 0, "pipelining unit, a multiple of 4 B; 0 = a whole segment "
     "(ring) or vector (tree)"},
    {"verify", ORR_P_BOOL, "false", 0, "real data: fill, reduce and check against the closed "
     "form (needs host_memory_data on the rnic)"},
    {"reduce_bandwidth", ORR_P_BW, "10GB/s", ORR_PF_POSITIVE, "host reduction speed (bytes in "
     "per second), charged as compute time"},
    {NULL},
};

static const struct orr_port_doc ar_ports[] = {
    {"rnic", "to the node's rnic `host` port (include/orrery/rdma.h)"},
    {NULL},
};

/* receive window of one QP: post up to qp_depth ahead of what is consumed */
struct rwin {
    uint64_t expected, posted, consumed;
};

struct ar {
    struct rapp app;
    unsigned alg;
    uint64_t size, chunk, reduce_bw;
    uint32_t nElem;
    bool verify;
    uint64_t data_addr, stage_addr, stage_slot;
    /* ring */
    uint32_t nStep, maxChunks;
    /* tree */
    uint32_t nChild, nChunk;
    uint32_t qParent, qChild[2]; /* QP indexes */
    uint8_t *aUp;                 /* per chunk: children received */
    struct rwin win[3];
    /* progress */
    uint64_t sends_total, sends_done, recv_total, recv_done, reduce_total, reduce_done;
    orr_time_t cpu_free;
    /* stats */
    struct orr_counter *c_sends, *c_bytes, *c_recvs, *c_reduce_ns, *c_verify_err;
    struct orr_value *v_checksum, *v_expected;
    /* group figures (node 0 only) */
    struct orr_value *g_time, *g_algbw, *g_busbw, *g_finished, *g_failed, *g_errors;
};

static struct ar *ar_of(struct rapp *a) { return a->user; }

/* --- data ------------------------------------------------------------------ */

static uint32_t value_at(uint32_t n, uint32_t i)
{
    return VA * (n + 1) + VB * i * (2 * n + 1) + VC;
}

static uint32_t sum_at(uint32_t nodes, uint32_t i)
{
    uint32_t N = nodes;
    uint32_t tri = (uint32_t)((uint64_t)N * (N + 1) / 2);
    return VA * tri + VB * i * N * N + VC * N;
}

static void fill(struct ar *s)
{
    uint32_t buf[1024];
    for (uint32_t i = 0; i < s->nElem; i += 1024) {
        uint32_t n = s->nElem - i < 1024 ? s->nElem - i : 1024;
        for (uint32_t k = 0; k < n; k++)
            buf[k] = value_at(s->app.node, i + k);
        rapp_mem_write(&s->app, s->data_addr + (uint64_t)i * 4, buf, n * 4);
    }
}

/* data[off, off+len) += stage[soff, soff+len) */
static void reduce_into(struct ar *s, uint64_t off, uint64_t stage, uint32_t len)
{
    uint32_t d[256], t[256];
    for (uint32_t at = 0; at < len; at += sizeof d) {
        uint32_t n = len - at < sizeof d ? len - at : (uint32_t)sizeof d;
        rapp_mem_read(&s->app, s->data_addr + off + at, d, n);
        rapp_mem_read(&s->app, stage + at, t, n);
        for (uint32_t k = 0; k < n / 4; k++)
            d[k] += t[k];
        rapp_mem_write(&s->app, s->data_addr + off + at, d, n);
    }
}

static void check(struct ar *s)
{
    uint32_t buf[1024], sum = 0, want = 0;
    uint64_t bad = 0;
    for (uint32_t i = 0; i < s->nElem; i += 1024) {
        uint32_t n = s->nElem - i < 1024 ? s->nElem - i : 1024;
        rapp_mem_read(&s->app, s->data_addr + (uint64_t)i * 4, buf, n * 4);
        for (uint32_t k = 0; k < n; k++) {
            uint32_t w = sum_at(s->app.nodes, i + k);
            bad += buf[k] != w;
            sum += buf[k];
            want += w;
        }
    }
    s->c_verify_err->v = bad;
    s->v_checksum->v = sum;
    s->v_expected->v = want;
}

/* --- timing ------------------------------------------------------------------ */

static orr_time_t reduce_cost(const struct ar *s, uint64_t bytes)
{
    unsigned __int128 bits = (unsigned __int128)bytes * 8 * ORR_S;
    return (orr_time_t)((bits + s->reduce_bw - 1) / s->reduce_bw);
}

/* Queue a reduction of `bytes` on the host CPU (one at a time, in order). */
static void reduce_later(struct ar *s, uint64_t bytes, uint64_t x, uint64_t y)
{
    orr_time_t now = orr_now(s->app.c->sim), cost = reduce_cost(s, bytes);
    s->cpu_free = (s->cpu_free > now ? s->cpu_free : now) + cost;
    s->c_reduce_ns->v += cost / 1000;
    orr_timer(s->app.c, s->cpu_free - now, TAG_REDUCED, x, y);
}

/* --- receive windows ---------------------------------------------------------- */

static void win_fill(struct ar *s, uint32_t qi)
{
    struct rwin *w = &s->win[qi];
    while (w->posted < w->expected && w->posted - w->consumed < s->app.qp_depth)
        rapp_recv(&s->app, qi, w->posted++, s->data_addr, 0);
}

static void win_take(struct ar *s, uint32_t qi)
{
    s->win[qi].consumed++;
    s->recv_done++;
    s->c_recvs->v++;
    win_fill(s, qi);
}

/* --- sending ------------------------------------------------------------------- */

static void write_imm(struct ar *s, uint32_t qi, uint64_t laddr, uint64_t raddr, uint32_t len,
                      uint32_t imm)
{
    struct rdma_wr wr = {.wr_id = imm, .opcode = RDMA_OP_WRITE_IMM, .laddr = laddr,
                         .length = len, .imm = imm, .raddr = raddr};
    s->c_sends->v++;
    s->c_bytes->v += len;
    rapp_send(&s->app, qi, &wr);
}

static void maybe_done(struct ar *s)
{
    if (s->sends_done < s->sends_total || s->recv_done < s->recv_total ||
        s->reduce_done < s->reduce_total)
        return;
    if (s->verify) {
        check(s);
        if (s->c_verify_err->v) {
            rapp_fail(&s->app, "verify: %llu of %u elements differ from the closed-form sum",
                      (unsigned long long)s->c_verify_err->v, s->nElem);
            return;
        }
    }
    rapp_finish(&s->app);
}

/* --- ring ------------------------------------------------------------------------ */

static uint32_t seg_first(const struct ar *s, uint32_t k)
{
    return (uint32_t)((uint64_t)k * s->nElem / s->app.nodes);
}
static uint64_t seg_bytes(const struct ar *s, uint32_t k)
{
    return (uint64_t)(seg_first(s, k + 1) - seg_first(s, k)) * 4;
}
static uint32_t seg_chunks(const struct ar *s, uint32_t k)
{
    uint64_t b = seg_bytes(s, k);
    return s->chunk ? (uint32_t)((b + s->chunk - 1) / s->chunk) : 1;
}
static uint32_t chunk_len(const struct ar *s, uint64_t total, uint32_t j)
{
    if (!s->chunk)
        return (uint32_t)total;
    uint64_t rest = total - (uint64_t)j * s->chunk;
    return (uint32_t)(rest < s->chunk ? rest : s->chunk);
}
static uint32_t ring_seg(const struct ar *s, uint32_t n, uint32_t step)
{
    uint32_t N = s->app.nodes;
    if (step < N - 1)
        return (uint32_t)((n + (uint64_t)N * 2 - step) % N);
    return (uint32_t)((n + 1 + (uint64_t)N * 2 - (step - (N - 1))) % N);
}

enum { RING_TO_RIGHT = 0, RING_FROM_LEFT = 1 };

static void ring_send(struct ar *s, uint32_t step, uint32_t j)
{
    uint32_t k = ring_seg(s, s->app.node, step);
    uint64_t off = (uint64_t)seg_first(s, k) * 4 + (uint64_t)j * s->chunk;
    uint32_t len = chunk_len(s, seg_bytes(s, k), j);
    uint64_t raddr = step < s->app.nodes - 1
                         ? s->stage_addr + step * s->stage_slot + (uint64_t)j * s->chunk
                         : s->data_addr + off;
    write_imm(s, RING_TO_RIGHT, s->data_addr + off, raddr, len, step * s->maxChunks + j);
}

static void ring_begin(struct ar *s)
{
    uint32_t N = s->app.nodes, n = s->app.node;
    for (uint32_t step = 0; step < s->nStep; step++) {
        uint32_t c = seg_chunks(s, ring_seg(s, n, step));
        uint32_t cin = seg_chunks(s, ring_seg(s, (n + N - 1) % N, step));
        s->sends_total += c;
        s->recv_total += cin;
        if (step < N - 1)
            s->reduce_total += cin;
    }
    s->win[RING_FROM_LEFT].expected = s->recv_total;
    win_fill(s, RING_FROM_LEFT);
    if (s->nStep)
        for (uint32_t j = 0; j < seg_chunks(s, ring_seg(s, n, 0)); j++)
            ring_send(s, 0, j);
}

static void ring_recv(struct ar *s, const struct rdma_cqe *e)
{
    uint32_t step = e->imm / s->maxChunks, j = e->imm % s->maxChunks;
    win_take(s, RING_FROM_LEFT);
    if (step < s->app.nodes - 1) {
        uint32_t k = ring_seg(s, (s->app.node + s->app.nodes - 1) % s->app.nodes, step);
        reduce_later(s, chunk_len(s, seg_bytes(s, k), j), step, j);
    } else if (step + 1 < s->nStep) {
        ring_send(s, step + 1, j);
    }
}

static void ring_reduced(struct ar *s, uint32_t step, uint32_t j)
{
    uint32_t k = ring_seg(s, s->app.node, step + 1); /* the segment that arrived at step */
    if (s->verify)
        reduce_into(s, (uint64_t)seg_first(s, k) * 4 + (uint64_t)j * s->chunk,
                    s->stage_addr + step * s->stage_slot + (uint64_t)j * s->chunk,
                    chunk_len(s, seg_bytes(s, k), j));
    s->reduce_done++;
    ring_send(s, step + 1, j);
}

/* --- tree ------------------------------------------------------------------------ */

static uint64_t tree_off(const struct ar *s, uint32_t j)
{
    return s->chunk ? (uint64_t)j * s->chunk : 0;
}

static void tree_down(struct ar *s, uint32_t j)
{
    uint32_t len = chunk_len(s, s->size, j);
    for (uint32_t c = 0; c < s->nChild; c++)
        write_imm(s, s->qChild[c], s->data_addr + tree_off(s, j), s->data_addr + tree_off(s, j),
                  len, DOWN_BIT | j);
}

/* chunk j holds the sum of this subtree */
static void tree_ready(struct ar *s, uint32_t j)
{
    if (s->app.node == 0) {
        tree_down(s, j);
        return;
    }
    uint32_t slot = (s->app.node + 1) % 2;
    write_imm(s, s->qParent, s->data_addr + tree_off(s, j),
              s->stage_addr + slot * s->stage_slot + tree_off(s, j), chunk_len(s, s->size, j), j);
}

static void tree_begin(struct ar *s)
{
    uint32_t n = s->app.node;
    s->sends_total = (uint64_t)s->nChunk * s->nChild + (n ? s->nChunk : 0);
    s->recv_total = (uint64_t)s->nChunk * s->nChild + (n ? s->nChunk : 0);
    s->reduce_total = s->nChild ? s->nChunk : 0;
    for (uint32_t c = 0; c < s->nChild; c++) {
        s->win[s->qChild[c]].expected = s->nChunk;
        win_fill(s, s->qChild[c]);
    }
    if (n) {
        s->win[s->qParent].expected = s->nChunk;
        win_fill(s, s->qParent);
    }
    if (!s->nChild)
        for (uint32_t j = 0; j < s->nChunk; j++)
            tree_ready(s, j);
}

static void tree_recv(struct ar *s, const struct rdma_cqe *e)
{
    uint32_t qi = rapp_qp_index(&s->app, e->qpn);
    win_take(s, qi);
    if (e->imm & DOWN_BIT) {
        tree_down(s, e->imm & ~DOWN_BIT);
        return;
    }
    uint32_t j = e->imm;
    if (++s->aUp[j] == s->nChild)
        reduce_later(s, (uint64_t)chunk_len(s, s->size, j) * s->nChild, j, 0);
}

static void tree_reduced(struct ar *s, uint32_t j)
{
    if (s->verify)
        for (uint32_t c = 0; c < s->nChild; c++)
            reduce_into(s, tree_off(s, j), s->stage_addr + c * s->stage_slot + tree_off(s, j),
                        chunk_len(s, s->size, j));
    s->reduce_done++;
    tree_ready(s, j);
}

/* --- rapp callbacks ---------------------------------------------------------------- */

static void ar_begin(struct rapp *a)
{
    struct ar *s = ar_of(a);
    if (s->verify)
        fill(s);
    if (s->alg == ALG_RING)
        ring_begin(s);
    else
        tree_begin(s);
    maybe_done(s);
}

static void ar_cqe(struct rapp *a, const struct rdma_cqe *e)
{
    struct ar *s = ar_of(a);
    if (e->opcode == RDMA_WC_RECV_RDMA_WITH_IMM) {
        if (s->alg == ALG_RING)
            ring_recv(s, e);
        else
            tree_recv(s, e);
    } else if (e->opcode == RDMA_WC_RDMA_WRITE) {
        s->sends_done++;
    } else {
        rapp_fail(a, "unexpected completion opcode %u", e->opcode);
        return;
    }
    maybe_done(s);
}

static void ar_timer(struct rapp *a, uint16_t tag, uint64_t x, uint64_t y)
{
    struct ar *s = ar_of(a);
    if (tag != TAG_REDUCED)
        return;
    if (s->alg == ALG_RING)
        ring_reduced(s, (uint32_t)x, (uint32_t)y);
    else
        tree_reduced(s, (uint32_t)x);
    maybe_done(s);
}

static const struct rapp_ops ar_ops = {.on_begin = ar_begin, .on_cqe = ar_cqe,
                                       .on_timer = ar_timer};

/* --- component ---------------------------------------------------------------------- */

static int bad(struct orr_component *c, const struct orr_params *p, const char *key,
               struct orr_diag *d, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int bad(struct orr_component *c, const struct orr_params *p, const char *key,
               struct orr_diag *d, const char *fmt, ...)
{
    char kp[256], text[256];
    va_list ap;
    snprintf(kp, sizeof kp, "%s.%s", c->keypath ? c->keypath : c->path, key);
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    orr_diag_error(d, orr_param_mark(p, key), kp, "%s", text);
    return ORR_ESCHEMA;
}

static int ar_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct ar *s = c->state;
    rapp_create(&s->app, c, p, &ar_ops, s);
    s->alg = orr_param_enum(p, "algorithm");
    s->size = orr_param_u64(p, "size");
    s->chunk = orr_param_u64(p, "chunk");
    s->verify = orr_param_bool(p, "verify");
    s->reduce_bw = orr_param_u64(p, "reduce_bandwidth"); /* bit/s */
    uint32_t N = s->app.nodes, n = s->app.node;
    if (n >= N)
        return bad(c, p, "node", d, "node %u is not below nodes (%u)", n, N);
    if (s->size % 4 || s->size > RDMA_MAX_MSG)
        return bad(c, p, "size", d, "size %llu B must be a multiple of the 4 B element and at "
                   "most %u B", (unsigned long long)s->size, RDMA_MAX_MSG);
    if (s->chunk % 4)
        return bad(c, p, "chunk", d, "chunk %llu B must be a multiple of the 4 B element",
                   (unsigned long long)s->chunk);
    s->nElem = (uint32_t)(s->size / 4);
    s->data_addr = s->app.buffers + RAPP_CM_BYTES;
    uint64_t round = (s->size + 4095) & ~(uint64_t)4095;
    s->stage_addr = s->data_addr + round;
    if (s->alg == ALG_RING) {
        if (s->nElem < N)
            return bad(c, p, "size", d, "size %llu B gives some of the %u nodes no 4 B element "
                       "of the ring", (unsigned long long)s->size, N);
        uint64_t maxseg = (uint64_t)((s->nElem + N - 1) / N) * 4;
        s->maxChunks = s->chunk ? (uint32_t)((maxseg + s->chunk - 1) / s->chunk) : 1;
        s->nStep = 2 * (N - 1);
        if ((uint64_t)s->nStep * s->maxChunks >= DOWN_BIT)
            return bad(c, p, "chunk", d, "chunk %llu B makes %llu (step, chunk) pairs: too many "
                       "for the 32-bit immediate", (unsigned long long)s->chunk,
                       (unsigned long long)s->nStep * s->maxChunks);
        s->stage_slot = (maxseg + 63) & ~(uint64_t)63;
        rapp_add_qp(&s->app, (n + 1) % N, 1 + n);           /* RING_TO_RIGHT */
        rapp_add_qp(&s->app, (n + N - 1) % N, 1 + (n + N - 1) % N); /* RING_FROM_LEFT */
    } else {
        s->nChunk = s->chunk ? (uint32_t)((s->size + s->chunk - 1) / s->chunk) : 1;
        if (s->nChunk >= DOWN_BIT)
            return bad(c, p, "chunk", d, "chunk %llu B makes %u chunks: too many",
                       (unsigned long long)s->chunk, s->nChunk);
        s->stage_slot = round;
        s->aUp = calloc(s->nChunk, 1);
        if (!s->aUp)
            orr_oom();
        if (n)
            s->qParent = rapp_add_qp(&s->app, (n - 1) / 2, 1 + n);
        for (uint32_t k = 1; k <= 2; k++)
            if ((uint64_t)2 * n + k < N)
                s->qChild[s->nChild++] = rapp_add_qp(&s->app, 2 * n + k, 1 + 2 * n + k);
    }
    s->c_sends = orr_counter_new(c, "writes", "wr");
    s->c_bytes = orr_counter_new(c, "bytes_sent", "B");
    s->c_recvs = orr_counter_new(c, "chunks_received", "chunk");
    s->c_reduce_ns = orr_counter_new(c, "reduce_time", "ns");
    s->c_verify_err = orr_counter_new(c, "verify_errors", "elem");
    s->v_checksum = orr_value_new(c, "result_checksum", "u32");
    s->v_expected = orr_value_new(c, "expected_checksum", "u32");
    if (n == 0) {
        s->g_time = orr_value_new(c, "collective_time", "us");
        s->g_algbw = orr_value_new(c, "algbw", "GB/s");
        s->g_busbw = orr_value_new(c, "busbw", "GB/s");
        s->g_finished = orr_value_new(c, "nodes_finished", "node");
        s->g_failed = orr_value_new(c, "nodes_failed", "node");
        s->g_errors = orr_value_new(c, "error_completions_total", "cqe");
    }
    return 0;
}

static int ar_start(struct orr_component *c, struct orr_diag *d)
{
    struct ar *s = c->state;
    int rc = rapp_start(&s->app, d);
    if (rc == 0 && s->verify && !rapp_mem_real(&s->app)) {
        orr_diag_error(d, &c->mark, c->keypath, "verify: true needs the node's memory to hold bytes "
                       "(the rnic's host_memory_data: true)");
        rc = ORR_ESCHEMA;
    }
    return rc;
}

static void ar_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct ar *s = c->state;
    rapp_handle(&s->app, ev);
}

static void ar_finish(struct orr_component *c)
{
    struct ar *s = c->state;
    if (!s->g_time)
        return;
    const struct rapp_group *g = s->app.group;
    s->g_finished->v = g->finished;
    s->g_failed->v = g->failed;
    s->g_errors->v = (double)g->errors;
    if (g->finished == g->members && g->last_finish > g->first_begin) {
        double ns = (double)(g->last_finish - g->first_begin) / 1000.0;
        double N = s->app.nodes;
        s->g_time->v = ns / 1000.0;
        s->g_algbw->v = (double)s->size / ns;
        s->g_busbw->v = s->g_algbw->v * 2.0 * (N - 1) / N;
    }
}

static void ar_destroy(struct orr_component *c)
{
    struct ar *s = c->state;
    free(s->aUp);
    rapp_destroy(&s->app);
}

static const struct orr_metric_doc ar_metrics[] = {
    RAPP_METRICS,
    {"writes", "wr", ORR_METRIC_COUNTER, "RDMA writes posted"},
    {"bytes_sent", "B", ORR_METRIC_COUNTER, "bytes those writes carried"},
    {"chunks_received", "chunk", ORR_METRIC_COUNTER, "chunks that arrived from peers"},
    {"reduce_time", "ns", ORR_METRIC_COUNTER, "host CPU time charged for reductions"},
    {"verify_errors", "elem", ORR_METRIC_COUNTER,
     "result elements differing from the expected sum"},
    {"result_checksum", "u32", ORR_METRIC_VALUE, "sum (mod 2^32) of the result vector"},
    {"expected_checksum", "u32", ORR_METRIC_VALUE, "what result_checksum should be"},
    {"collective_time", "us", ORR_METRIC_VALUE,
     "node 0, for the group: first begin to last finish"},
    {"algbw", "GB/s", ORR_METRIC_VALUE,
     "node 0: vector bytes over collective_time (nccl-tests algbw)"},
    {"busbw", "GB/s", ORR_METRIC_VALUE, "node 0: algbw x 2(N-1)/N (nccl-tests busbw)"},
    {"nodes_finished", "node", ORR_METRIC_VALUE, "node 0: members of the group that finished"},
    {"nodes_failed", "node", ORR_METRIC_VALUE, "node 0: members of the group that failed"},
    {"error_completions_total", "cqe", ORR_METRIC_VALUE,
     "node 0: error completions in the whole group"},
    {NULL},
};

const struct orr_component_type orr_allreduce_type = {
    .name = "allreduce",
    .summary = "allreduce over RDMA WRITE_IMM: ring or binary tree, pipelined, verifiable "
               "(a workload on an rnic)",
    .params = ar_params,
    .ports = ar_ports,
    .metrics = ar_metrics,
    .state_size = sizeof(struct ar),
    .workload = true,
    .create = ar_create,
    .start = ar_start,
    .handle = ar_handle,
    .finish = ar_finish,
    .destroy = ar_destroy,
};
