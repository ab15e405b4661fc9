/* kv: a one-sided RDMA key-value store (docs/collectives.md). The server
 * owns a table of `keys` slots of `value_size` bytes in its host memory
 * and does nothing at run time: clients GET with an RDMA READ of the slot
 * and PUT with an RDMA WRITE of it (FaRM/Pilaf style, no server CPU). Each
 * client keeps `outstanding` operations in flight until it has done `ops`.
 *
 * Keys follow a Zipf distribution of exponent `theta` over ranks 1..keys,
 * rank r being key r-1 (key 0 is the hottest). Sampling inverts a CDF
 * precomputed in integers, so every machine draws the same keys:
 *   w(r) = 2^(-theta * log2 r)  in Q40, log2 by repeated squaring (Q32),
 *          2^-f by a product of 2^(-2^-k) constants (integer square roots)
 *   cdf(r) = w(1) + ... + w(r); a draw is u = below(cdf(keys)) from the
 *   client's orr_rng stream, and the key is the first r with cdf(r) > u.
 * O(keys) time and 8 bytes per key once per simulation (clients with the
 * same keys and theta share it), O(log keys) per draw; keys <= 4M. The
 * relative error of a weight is below 2^-30, far under sampling noise.
 *
 * Values. A value is value_size / 8 little-endian words:
 *   w[0] = key + 1, w[1] = version = writer node << 32 | writer's PUT count,
 *   w[i] = mix(key, version, i) for i >= 2,
 * and all zeros before the first PUT. With `verify`, every GET checks that
 * the value is all zero or names its own key, a client writer and a
 * version whose every word matches: a torn value (words of two PUTs) or a
 * value of another key fails the run. A value fits one packet (the mtu
 * less headers), so a PUT lands whole and a correct store never tears. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdma_app.h"
#include "orrery/error.h"

#define KV_MAX_KEYS (1u << 22)
#define KV_PKT_OVERHEAD 82u /* net.h's 62 B of headers + RETH and ImmDt */

enum { ROLE_AUTO, ROLE_SERVER, ROLE_CLIENT };
static const char *const roles[] = {"auto", "server", "client", NULL};

static const struct orr_param kv_params[] = {
    {"", ORR_P_INCLUDE, .group = rapp_params},
    {"mtu", ORR_P_SIZE, "4KiB", ORR_PF_POSITIVE, "fabric mtu (the cluster builder sets it)"},
    {"role", ORR_P_ENUM, "auto", 0, "server, client, or auto: server if node = `server`",
     roles},
    {"server", ORR_P_UINT, "0", 0, "the server's node"},
    {"keys", ORR_P_UINT, "100000", ORR_PF_POSITIVE, "table slots", NULL, 1, KV_MAX_KEYS},
    {"value_size", ORR_P_SIZE, "64B", ORR_PF_POSITIVE, "bytes per value: a multiple of 8, >= 16, "
     "one packet"},
    {"table", ORR_P_SIZE, "0B", 0, "server host address of the table; 0 = buffers + 4 KiB"},
    {"ops", ORR_P_UINT, "10000", 0, "operations per client"},
    {"get_ratio", ORR_P_STRING, "0.9", ORR_PF_NONEMPTY, "fraction of operations that are GETs "
     "(0..1)"},
    {"theta", ORR_P_STRING, "0.99", ORR_PF_NONEMPTY, "Zipf exponent (0 = uniform .. 4)"},
    {"outstanding", ORR_P_UINT, "8", ORR_PF_POSITIVE, "operations in flight per client", NULL, 1,
     4096},
    {"verify", ORR_P_BOOL, "true", 0, "check every GET's value (needs host_memory_data)"},
    {NULL},
};

static const struct orr_port_doc kv_ports[] = {
    {"rnic", "to the node's rnic `host` port (include/orrery/rdma.h)"},
    {NULL},
};

/* --- Zipf ------------------------------------------------------------------ */

struct zipf {
    uint64_t *aCdf;
    uint32_t n;
};

static void zipf_fini(void *p) { free(((struct zipf *)p)->aCdf); }

static uint64_t isqrt128(unsigned __int128 x)
{
    uint64_t r = 0;
    for (int b = 63; b >= 0; b--) {
        uint64_t t = r | (UINT64_C(1) << b);
        if ((unsigned __int128)t * t <= x)
            r = t;
    }
    return r;
}

/* log2(x) in Q32, x >= 1 */
static uint64_t log2_q32(uint64_t x)
{
    unsigned ip = 63u - (unsigned)__builtin_clzll(x);
    uint64_t m = ip <= 62 ? x << (62 - ip) : x >> 1; /* Q62 in [1, 2) */
    uint64_t frac = 0;
    for (int k = 31; k >= 0; k--) {
        m = (uint64_t)(((unsigned __int128)m * m) >> 62);
        if (m >= UINT64_C(1) << 63) {
            frac |= UINT64_C(1) << k;
            m >>= 1;
        }
    }
    return (uint64_t)ip << 32 | frac;
}

/* 2^-e for e in Q32, as Q40 */
static uint64_t exp2neg_q40(uint64_t e, const uint64_t *aRoot)
{
    uint64_t ip = e >> 32, v = UINT64_C(1) << 62; /* Q62 */
    if (ip >= 62)
        return 0;
    for (int k = 0; k < 32; k++)
        if (e & (UINT64_C(1) << (31 - k)))
            v = (uint64_t)(((unsigned __int128)v * aRoot[k]) >> 62);
    return (v >> ip) >> 22;
}

static struct zipf *zipf_get(struct orr_component *c, uint32_t keys, uint64_t theta_q32)
{
    char name[96];
    snprintf(name, sizeof name, "workloads.kv.zipf.%u.%llu", keys, (unsigned long long)theta_q32);
    /* a table every client computes alike, built once: an observer, since
     * building it again would give the same bytes */
    struct zipf *z = orr_sim_observer(c->sim, name, sizeof *z, zipf_fini);
    if (z->aCdf)
        return z;
    /* aRoot[k] = 2^(-2^-(k+1)) in Q62 */
    uint64_t aRoot[32];
    aRoot[0] = isqrt128((unsigned __int128)1 << 123); /* sqrt(1/2) in Q62 */
    for (int k = 1; k < 32; k++)
        aRoot[k] = isqrt128((unsigned __int128)aRoot[k - 1] << 62);
    z->aCdf = malloc((size_t)keys * sizeof *z->aCdf);
    if (!z->aCdf)
        orr_oom();
    uint64_t sum = 0;
    for (uint32_t i = 0; i < keys; i++) {
        uint64_t e = (uint64_t)(((unsigned __int128)theta_q32 * log2_q32(i + 1)) >> 32);
        uint64_t w = exp2neg_q40(e, aRoot);
        sum += w ? w : 1;
        z->aCdf[i] = sum;
    }
    z->n = keys;
    return z;
}

static uint32_t zipf_draw(const struct zipf *z, struct orr_rng *rng)
{
    uint64_t u = orr_rng_below(rng, z->aCdf[z->n - 1]);
    uint32_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (z->aCdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* "0.99" -> Q32; "1", ".5", "2.25"; at most 9 fraction digits */
static int parse_fixed(const char *s, uint64_t max_int, uint64_t *out)
{
    uint64_t ip = 0, num = 0, den = 1;
    const char *p = s;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && ip <= max_int)
        ip = ip * 10 + (uint64_t)(*p++ - '0'), digits++;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9' && den < 1000000000u; p++, digits++)
            num = num * 10 + (uint64_t)(*p - '0'), den *= 10;
    if (*p || !digits || ip > max_int)
        return -1;
    *out = (ip << 32) + (uint64_t)(((unsigned __int128)num << 32) / den);
    return 0;
}

/* --- state -------------------------------------------------------------------- */

struct op {
    uint32_t key;
    bool get, busy;
    orr_time_t posted;
};

struct kv_totals {
    uint64_t ops, hot, verify_errors;
    uint32_t nClient;
    struct orr_histogram *aGet[64], *aPut[64]; /* the first 64 clients' histograms */
};

struct kv {
    struct rapp app;
    bool server, verify;
    uint32_t server_node, keys, value_size, outstanding, get_ppm;
    uint64_t ops, issued, completed, seq, table, slots;
    struct zipf *zipf;
    struct op *aOp;
    uint64_t *aWord; /* value_size / 8 words of scratch */
    struct kv_totals *tot;
    struct orr_counter *c_gets, *c_puts, *c_hot, *c_initial, *c_verify_err;
    struct orr_histogram *h_get, *h_put;
    struct orr_value *v_rate, *v_hot_share;
    /* server: the whole service */
    struct orr_value *s_ops, *s_rate, *s_hot, *s_clients, *s_failed, *s_errors;
    struct orr_histogram *s_get, *s_put;
};

static struct kv *kv_of(struct rapp *a) { return a->user; }

static uint64_t mix(uint64_t key, uint64_t version, uint64_t i)
{
    uint64_t z = key * 0x9E3779B97F4A7C15u ^ version * 0xBF58476D1CE4E5B9u ^ i * 0x94D049BB133111EBu;
    z ^= z >> 31;
    z *= 0xBF58476D1CE4E5B9u;
    return z ^ (z >> 29);
}

/* --- client ---------------------------------------------------------------------- */

static void issue(struct kv *s, uint32_t slot)
{
    struct op *o = &s->aOp[slot];
    struct rapp *a = &s->app;
    o->key = zipf_draw(s->zipf, &a->c->rng);
    o->get = orr_rng_below(&a->c->rng, 1000000) < s->get_ppm;
    o->busy = true;
    o->posted = orr_now(a->c->sim);
    s->issued++;
    uint64_t laddr = s->slots + (uint64_t)slot * s->value_size;
    uint64_t raddr = s->table + (uint64_t)o->key * s->value_size;
    if (!o->get && s->verify) {
        uint32_t n = s->value_size / 8;
        uint64_t version = (uint64_t)a->node << 32 | ++s->seq;
        s->aWord[0] = (uint64_t)o->key + 1;
        s->aWord[1] = version;
        for (uint32_t i = 2; i < n; i++)
            s->aWord[i] = mix(o->key, version, i);
        rapp_mem_write(a, laddr, s->aWord, s->value_size);
    }
    struct rdma_wr wr = {.wr_id = slot, .opcode = o->get ? RDMA_OP_READ : RDMA_OP_WRITE,
                         .laddr = laddr, .length = s->value_size, .raddr = raddr};
    rapp_send(a, 0, &wr);
}

/* A GET's value: all zero, or (key, a client's version) in every word. */
static void check_get(struct kv *s, const struct op *o, uint64_t laddr)
{
    struct rapp *a = &s->app;
    uint32_t n = s->value_size / 8;
    rapp_mem_read(a, laddr, s->aWord, s->value_size);
    bool zero = true;
    for (uint32_t i = 0; i < n && zero; i++)
        zero = s->aWord[i] == 0;
    if (zero) {
        s->c_initial->v++;
        return;
    }
    const char *what = NULL;
    uint64_t version = s->aWord[1];
    uint32_t writer = (uint32_t)(version >> 32);
    if (s->aWord[0] != (uint64_t)o->key + 1)
        what = "a value of another key";
    else if (writer >= a->nodes || writer == s->server_node || (uint32_t)version == 0)
        what = "a version no client wrote";
    for (uint32_t i = 2; i < n && !what; i++)
        if (s->aWord[i] != mix(o->key, version, i))
            what = "a torn value (words of different PUTs)";
    if (!what)
        return;
    s->c_verify_err->v++;
    s->tot->verify_errors++;
    orr_sim_fail(a->c, "node %u: GET of key %u returned %s (w0 %#llx, version %#llx)", a->node,
                 o->key, what, (unsigned long long)s->aWord[0], (unsigned long long)version);
    rapp_fail(a, "verify failed");
}

static void client_cqe(struct kv *s, const struct rdma_cqe *e)
{
    struct rapp *a = &s->app;
    uint32_t slot = (uint32_t)e->wr_id;
    struct op *o = &s->aOp[slot];
    if (slot >= s->outstanding || !o->busy) {
        rapp_fail(a, "completion for an operation not in flight (wr_id %llu)",
                  (unsigned long long)e->wr_id);
        return;
    }
    o->busy = false;
    uint64_t ns = (orr_now(a->c->sim) - o->posted) / 1000;
    orr_histogram_add(o->get ? s->h_get : s->h_put, ns);
    (o->get ? s->c_gets : s->c_puts)->v++;
    s->tot->ops++;
    if (o->key == 0) {
        s->c_hot->v++;
        s->tot->hot++;
    }
    if (o->get && s->verify) {
        check_get(s, o, s->slots + (uint64_t)slot * s->value_size);
        if (a->done)
            return;
    }
    s->completed++;
    if (s->issued < s->ops)
        issue(s, slot);
    else if (s->completed == s->ops)
        rapp_finish(a);
}

/* --- rapp callbacks ---------------------------------------------------------------- */

static void kv_begin(struct rapp *a)
{
    struct kv *s = kv_of(a);
    if (s->server || s->ops == 0) {
        rapp_finish(a);
        return;
    }
    for (uint32_t i = 0; i < s->outstanding && s->issued < s->ops; i++)
        issue(s, i);
}

static void kv_cqe(struct rapp *a, const struct rdma_cqe *e)
{
    struct kv *s = kv_of(a);
    if (!s->server)
        client_cqe(s, e);
}

static const struct rapp_ops kv_ops = {.on_begin = kv_begin, .on_cqe = kv_cqe};

/* --- component -------------------------------------------------------------------- */

static int kv_error(struct orr_component *c, const struct orr_params *p, const char *key,
                    struct orr_diag *d, const char *msg)
{
    char kp[256];
    snprintf(kp, sizeof kp, "%s.%s", c->keypath ? c->keypath : c->path, key);
    orr_diag_error(d, orr_param_mark(p, key), kp, "%s", msg);
    return ORR_ESCHEMA;
}

static int kv_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct kv *s = c->state;
    struct rapp *a = &s->app;
    rapp_create(a, c, p, &kv_ops, s);
    unsigned role = orr_param_enum(p, "role");
    s->server_node = (uint32_t)orr_param_u64(p, "server");
    s->server = role == ROLE_SERVER || (role == ROLE_AUTO && a->node == s->server_node);
    s->keys = (uint32_t)orr_param_u64(p, "keys");
    s->value_size = (uint32_t)orr_param_u64(p, "value_size");
    s->ops = orr_param_u64(p, "ops");
    s->outstanding = (uint32_t)orr_param_u64(p, "outstanding");
    s->verify = orr_param_bool(p, "verify");
    uint64_t mtu = orr_param_u64(p, "mtu"), theta, ratio;
    s->table = orr_param_u64(p, "table");
    if (!s->table)
        s->table = a->buffers + RAPP_CM_BYTES;
    s->slots = a->buffers + RAPP_CM_BYTES;
    if (s->server_node >= a->nodes)
        return kv_error(c, p, "server", d, "the server is not a node of the cluster");
    if (s->value_size % 8 || s->value_size < 16 || s->value_size + KV_PKT_OVERHEAD > mtu)
        return kv_error(c, p, "value_size", d, "value_size must be a multiple of 8 B, at least "
                        "16 B, and fit one packet (mtu less 82 B of headers)");
    if (parse_fixed(orr_param_str(p, "theta"), 4, &theta) || theta > (UINT64_C(4) << 32))
        return kv_error(c, p, "theta", d, "theta must be a decimal number from 0 to 4");
    if (parse_fixed(orr_param_str(p, "get_ratio"), 1, &ratio) || ratio > (UINT64_C(1) << 32))
        return kv_error(c, p, "get_ratio", d, "get_ratio must be a decimal number from 0 to 1");
    s->get_ppm = (uint32_t)((ratio * 1000000 + (UINT64_C(1) << 31)) >> 32);
    s->tot = orr_sim_observer(c->sim, "workloads.kv.totals", sizeof *s->tot, NULL);
    if (s->server) {
        for (uint32_t n = 0; n < a->nodes; n++)
            if (n != a->node)
                rapp_add_qp(a, n, 1 + n);
        s->s_ops = orr_value_new(c, "service_ops", "op");
        s->s_rate = orr_value_new(c, "service_ops_per_s", "op/s");
        s->s_hot = orr_value_new(c, "hottest_key_share", "fraction");
        s->s_clients = orr_value_new(c, "clients_finished", "node");
        s->s_failed = orr_value_new(c, "clients_failed", "node");
        s->s_errors = orr_value_new(c, "error_completions_total", "cqe");
        s->s_get = orr_histogram_new(c, "service_get_latency", "ns");
        s->s_put = orr_histogram_new(c, "service_put_latency", "ns");
        return 0;
    }
    rapp_add_qp(a, s->server_node, 1 + a->node);
    s->zipf = zipf_get(c, s->keys, theta);
    s->aOp = calloc(s->outstanding, sizeof *s->aOp);
    s->aWord = calloc(s->value_size / 8, sizeof *s->aWord);
    if (!s->aOp || !s->aWord)
        orr_oom();
    s->c_gets = orr_counter_new(c, "gets", "op");
    s->c_puts = orr_counter_new(c, "puts", "op");
    s->c_hot = orr_counter_new(c, "hottest_key_ops", "op");
    s->c_initial = orr_counter_new(c, "gets_of_initial_value", "op");
    s->c_verify_err = orr_counter_new(c, "verify_errors", "op");
    s->h_get = orr_histogram_new(c, "get_latency", "ns");
    s->h_put = orr_histogram_new(c, "put_latency", "ns");
    s->v_rate = orr_value_new(c, "ops_per_s", "op/s");
    s->v_hot_share = orr_value_new(c, "hottest_key_share", "fraction");
    if (s->tot->nClient < 64) {
        s->tot->aGet[s->tot->nClient] = s->h_get;
        s->tot->aPut[s->tot->nClient] = s->h_put;
    }
    s->tot->nClient++;
    return 0;
}

static int kv_start(struct orr_component *c, struct orr_diag *d)
{
    struct kv *s = c->state;
    int rc = rapp_start(&s->app, d);
    if (rc == 0 && s->verify && !s->server && !rapp_mem_real(&s->app)) {
        orr_diag_error(d, &c->mark, c->keypath, "verify: true needs the node's memory to hold bytes "
                       "(the rnic's host_memory_data: true)");
        rc = ORR_ESCHEMA;
    }
    return rc;
}

static void kv_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct kv *s = c->state;
    rapp_handle(&s->app, ev);
}

/* Clients fold their figures into the totals; the server (whose finish may
 * run first: it reads client state directly) reports the service. */
static void kv_finish(struct orr_component *c)
{
    struct kv *s = c->state;
    struct rapp *a = &s->app;
    if (!s->server) {
        uint64_t done = s->c_gets->v + s->c_puts->v;
        if (a->end_time > a->begin_time && a->begun)
            s->v_rate->v = (double)done * 1e12 / (double)(a->end_time - a->begin_time);
        if (done)
            s->v_hot_share->v = (double)s->c_hot->v / (double)done;
        return;
    }
    const struct rapp_group *g = a->group;
    struct kv_totals *t = s->tot;
    for (uint32_t i = 0; i < t->nClient && i < 64; i++) {
        orr_histogram_merge(s->s_get, t->aGet[i]);
        orr_histogram_merge(s->s_put, t->aPut[i]);
    }
    s->s_ops->v = (double)t->ops;
    if (t->ops)
        s->s_hot->v = (double)t->hot / (double)t->ops;
    s->s_clients->v = g->finished ? g->finished - 1 : 0; /* less the server itself */
    s->s_failed->v = g->failed;
    s->s_errors->v = (double)g->errors;
    if (g->last_finish > g->first_begin)
        s->s_rate->v = (double)t->ops * 1e12 / (double)(g->last_finish - g->first_begin);
}

static void kv_destroy(struct orr_component *c)
{
    struct kv *s = c->state;
    free(s->aOp);
    free(s->aWord);
    rapp_destroy(&s->app);
}

static const struct orr_metric_doc kv_metrics[] = {
    RAPP_METRICS,
    {"service_ops", "op", ORR_METRIC_VALUE, "server: operations all clients completed"},
    {"service_ops_per_s", "op/s", ORR_METRIC_VALUE,
     "server: service_ops over first begin to last finish"},
    {"hottest_key_share", "fraction", ORR_METRIC_VALUE,
     "share of operations on key 0 (the server's: of all clients)"},
    {"clients_finished", "node", ORR_METRIC_VALUE, "server: clients that finished"},
    {"clients_failed", "node", ORR_METRIC_VALUE, "server: clients that failed"},
    {"error_completions_total", "cqe", ORR_METRIC_VALUE,
     "server: error completions in the whole group"},
    {"service_get_latency", "ns", ORR_METRIC_HISTOGRAM, "server: every client's GET latencies"},
    {"service_put_latency", "ns", ORR_METRIC_HISTOGRAM, "server: every client's PUT latencies"},
    {"gets", "op", ORR_METRIC_COUNTER, "client: GETs completed"},
    {"puts", "op", ORR_METRIC_COUNTER, "client: PUTs completed"},
    {"hottest_key_ops", "op", ORR_METRIC_COUNTER, "client: operations on key 0"},
    {"gets_of_initial_value", "op", ORR_METRIC_COUNTER,
     "client: GETs that read a never-written value"},
    {"verify_errors", "op", ORR_METRIC_COUNTER,
     "client: GETs that returned a wrong value (the run fails)"},
    {"get_latency", "ns", ORR_METRIC_HISTOGRAM, "client: GET post to completion"},
    {"put_latency", "ns", ORR_METRIC_HISTOGRAM, "client: PUT post to completion"},
    {"ops_per_s", "op/s", ORR_METRIC_VALUE, "client: operations over its begin to end"},
    {NULL},
};

const struct orr_component_type orr_kv_type = {
    .name = "kv",
    .summary = "one-sided RDMA key-value store: READ gets, WRITE puts, Zipf keys, checked values "
               "(a workload on an rnic)",
    .params = kv_params,
    .ports = kv_ports,
    .metrics = kv_metrics,
    .state_size = sizeof(struct kv),
    .workload = true,
    .create = kv_create,
    .start = kv_start,
    .handle = kv_handle,
    .finish = kv_finish,
    .destroy = kv_destroy,
};
