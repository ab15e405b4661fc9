/* The NVMe-like SSD (hw/storage/nvme.c, docs/storage.md) driven by hand:
 * a test-only host writes submission entries straight into host memory
 * (the node's hostmem, as a CPU's stores would land), rings doorbells by
 * MMIO through a root complex, and the test reads the completion entries
 * and data the device DMA'd back. Covered: controller enable and the
 * admin queue, Identify, I/O queue creation, WRITE / FLUSH / READ with
 * PRP1/PRP2 and a PRP list, the phase bit across a wrap, a bad opcode,
 * an LBA out of range, a PRP outside the IOMMU's grant (Data Transfer
 * Error, the run goes on), and power loss: a flushed write and a FUA
 * write survive, an unflushed one is gone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/hostmem.h"
#include "hw/nvme.h"
#include "hw/registry.h"
#include "orrery/pcie.h"
#include "orrery/scenario.h"
#include "testutil.h"

#define BAR 0x1000000000ull /* pcie_rc's default bar_base, 64 GiB */
#define ASQ 0x10000u
#define ACQ 0x11000u
#define IOSQ 0x12000u
#define IOCQ 0x13000u
#define IDBUF 0x14000u
#define LIST 0x15000u
#define WBUF 0x20000u /* 8 pages */
#define RBUF 0x30000u /* 8 pages */
#define QN 8u         /* I/O queue entries: a wrap after 8 commands */

/* --- the scripted host ----------------------------------------------------- */

enum { A_REG, A_SQE, A_MEM, A_MAP, A_RING, A_FAULT };
struct act {
    uint64_t at_ns;
    int kind;
    uint64_t off, val; /* REG: BAR offset, value, len; RING: queue, tail */
    unsigned len;
    uint32_t sqe[16];  /* SQE: written at off */
};
#define MAXACT 128
static struct act aAct[MAXACT];
static unsigned nAct;
static uint64_t map_bus; /* A_MAP's answer */

struct host {
    struct orr_port *out;
    struct hostmem *mem;
};
static const struct orr_param host_params[] = {{NULL}};
static const struct orr_port_doc host_ports[] = {{"out", "to pcie_rc.host"}, {NULL}};
static int host_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    (void)p;
    (void)d;
    struct host *s = c->state;
    s->out = orr_port_add(c, "out");
    s->mem = hostmem_for(c, NULL);
    return 0;
}
static int host_start(struct orr_component *c, struct orr_diag *d)
{
    (void)d;
    for (unsigned i = 0; i < nAct; i++)
        orr_timer(c, aAct[i].at_ns * ORR_NS, (uint16_t)i, 0, 0);
    return 0;
}
static void mmio_wr(struct host *s, uint64_t off, uint64_t v, unsigned len)
{
    struct orr_msg m = {.size = PCIE_MMIO_BYTES,
                        .data = {pcie_mmio_pack(PCIE_MMIO_WR, len, BAR + off), v}};
    assert_int_equal(orr_port_send(s->out, &m, 0), 0);
}
static void host_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct host *s = c->state;
    if (ev->kind == ORR_TK_MSG) {
        map_bus = ev->data[1];
        return;
    }
    if (ev->kind != ORR_TK_TIMER)
        return;
    const struct act *a = &aAct[ev->port];
    switch (a->kind) {
    case A_REG:
        mmio_wr(s, a->off, a->val, a->len);
        break;
    case A_SQE:
        hostmem_write(s->mem, a->off, a->sqe, 64);
        break;
    case A_MEM: { /* a page of pattern val at off */
        uint8_t b[4096];
        for (unsigned i = 0; i < sizeof b; i++)
            b[i] = (uint8_t)(a->val + i * 7);
        hostmem_write(s->mem, a->off, b, sizeof b);
        break;
    }
    case A_MAP: {
        struct pcie_iommu_cmd *k;
        uint64_t blob = orr_blob_new(c->sim, sizeof *k, (void **)&k);
        *k = (struct pcie_iommu_cmd){.dev = 0, .write = 1, .pa = a->off, .len = a->val};
        struct orr_msg m = {.size = PCIE_MMIO_BYTES,
                            .data = {pcie_mmio_pack(PCIE_IOMMU_MAP, 0, 0), blob}};
        assert_int_equal(orr_port_send(s->out, &m, 0), 0);
        break;
    }
    case A_RING:
        mmio_wr(s, NVME_REG_DB + a->off, a->val, 4); /* off: 8y SQ y tail, 8y + 4 CQ y head */
        break;
    default:
        break;
    }
}
static const struct orr_component_type host_type = {
    .name = "nvme_test_host", .summary = "test", .params = host_params, .ports = host_ports,
    .state_size = sizeof(struct host), .create = host_create, .start = host_start,
    .handle = host_handle,
};

static void act(uint64_t at_ns, int kind, uint64_t off, uint64_t val, unsigned len)
{
    assert_true(nAct < MAXACT);
    aAct[nAct++] = (struct act){.at_ns = at_ns, .kind = kind, .off = off, .val = val, .len = len};
}

/* An SQE at queue memory q, entry i; bus is added to the PRPs (IOMMU). */
static void sqe(uint64_t at_ns, uint64_t q, unsigned i, uint8_t opc, uint16_t cid, uint32_t nsid,
                uint64_t prp1, uint64_t prp2, uint32_t c10, uint32_t c11, uint32_t c12)
{
    assert_true(nAct < MAXACT);
    struct act *a = &aAct[nAct++];
    *a = (struct act){.at_ns = at_ns, .kind = A_SQE, .off = q + 64ull * i};
    a->sqe[0] = opc | (uint32_t)cid << 16;
    a->sqe[1] = nsid;
    a->sqe[6] = (uint32_t)prp1, a->sqe[7] = (uint32_t)(prp1 >> 32);
    a->sqe[8] = (uint32_t)prp2, a->sqe[9] = (uint32_t)(prp2 >> 32);
    a->sqe[10] = c10, a->sqe[11] = c11, a->sqe[12] = c12;
}

/* Enable the controller (admin queues of 16) and create I/O queue 1
 * with its CQ at cq. */
static void bring_up_cq(uint64_t t, uint64_t bus, uint64_t cq)
{
    act(t, A_REG, NVME_REG_AQA, 15u | 15u << 16, 4);
    act(t, A_REG, NVME_REG_ASQ, bus + ASQ, 8);
    act(t, A_REG, NVME_REG_ACQ, bus + ACQ, 8);
    act(t, A_REG, NVME_REG_CC, 1u | 6u << 16 | 4u << 20, 4);
    sqe(t + 20000, ASQ, 0, NVME_ADM_CREATE_CQ, 1, 0, bus + cq, 0, 1u | (QN - 1) << 16,
        1u | 2u | 1u << 16, 0);
    sqe(t + 20000, ASQ, 1, NVME_ADM_CREATE_SQ, 2, 0, bus + IOSQ, 0, 1u | (QN - 1) << 16,
        1u | 1u << 16, 0);
    sqe(t + 20000, ASQ, 2, NVME_ADM_IDENTIFY, 3, 1, bus + IDBUF, 0, 0, 0, 0);
    act(t + 20000, A_RING, 0, 3, 4);
}
static void bring_up(uint64_t t, uint64_t bus) { bring_up_cq(t, bus, IOCQ); }

struct run {
    struct orr_scenario sc;
    struct orr_diag d;
};

static void run_yaml(struct run *r, const char *name, const char *yaml)
{
    static const struct orr_component_type *aType[64];
    size_t n = 0;
    while (orr_builtin_types[n]) {
        aType[n] = orr_builtin_types[n];
        n++;
    }
    assert_true(n + 2 <= 64);
    aType[n] = &host_type;
    aType[n + 1] = NULL;
    char path[512];
    tmpdir_path(path, sizeof path, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    orr_diag_init(&r->d);
    int rc = orr_scenario_open(&r->sc, path, NULL, 0, NULL, aType, &r->d);
    if (rc)
        orr_diag_print(&r->d, stderr);
    assert_int_equal(rc, 0);
    orr_sim_run(r->sc.sim, NULL);
    orr_sim_finish(r->sc.sim);
}

static void run_free(struct run *r)
{
    orr_scenario_close(&r->sc);
    orr_diag_free(&r->d);
}

static double metric(const struct run *r, const char *comp, const char *name)
{
    const struct orr_metric *m;
    size_t n = orr_sim_metrics(r->sc.sim, &m);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(m[i].component, comp) && !strcmp(m[i].name, name))
            return m[i].value;
    fail_msg("no metric %s.%s", comp, name);
    return 0;
}

/* CQE i of the queue at q: status (SC | SCT << 8), cid, phase. */
struct cqe {
    unsigned status, cid, phase, sqid;
};
static struct cqe cqe_at(const struct run *r, uint64_t q, unsigned i)
{
    const struct hostmem *m = hostmem_peek(r->sc.sim, "n.mem");
    assert_non_null(m);
    uint32_t dw[4];
    hostmem_read(m, q + 16ull * i, dw, sizeof dw);
    return (struct cqe){.status = (dw[3] >> 17) & 0x7FF, .cid = dw[3] & 0xFFFF,
                        .phase = (dw[3] >> 16) & 1, .sqid = dw[2] >> 16};
}
static bool page_is(const struct run *r, uint64_t at, uint8_t seed)
{
    const struct hostmem *m = hostmem_peek(r->sc.sim, "n.mem");
    uint8_t b[4096];
    hostmem_read(m, at, b, sizeof b);
    for (unsigned i = 0; i < sizeof b; i++)
        if (b[i] != (uint8_t)(seed + i * 7))
            return false;
    return true;
}
static bool page_zero(const struct run *r, uint64_t at)
{
    const struct hostmem *m = hostmem_peek(r->sc.sim, "n.mem");
    uint8_t b[4096];
    hostmem_read(m, at, b, sizeof b);
    for (unsigned i = 0; i < sizeof b; i++)
        if (b[i])
            return false;
    return true;
}

static const char yaml_fmt[] =
    "name: t\nstop: {duration: %s, workloads_done: false}\n"
    "components:\n"
    "  n.mem: {type: flatmem, size: 16MiB}\n"
    "  n.rc: {type: pcie_rc, iommu: %s}\n"
    "  n.ssd: {type: nvme, capacity: 64MiB, ready_time: 2us, cache: 1MiB, %s}\n"
    "  n.host: {type: nvme_test_host}\n"
    "links:\n"
    "  - {from: n.rc.mem, to: n.mem.in0, latency: 10ns}\n"
    "  - {from: n.rc.dev0, to: n.ssd.pcie, latency: 200ns}\n"
    "  - {from: n.host.out, to: n.rc.host, latency: 50ns}\n"
    "%s";

/* Admin and I/O round trip: enable, create queues, identify; write two
 * pages (PRP1 + PRP2), flush, write four pages through a PRP list, read
 * both back; a bad opcode and an LBA past the namespace get their NVMe
 * statuses; ten commands wrap the 8-entry CQ, so the phase flips. */
static void test_roundtrip(void **state)
{
    (void)state;
    nAct = 0;
    bring_up(1000, 0);
    for (unsigned p = 0; p < 6; p++)
        act(50000, A_MEM, WBUF + 4096ull * p, 11 + p, 0);
    /* the list for a 4-page write at WBUF+2p: pages 3, 4, 5 */
    {
        struct act *a = &aAct[nAct++];
        *a = (struct act){.at_ns = 50000, .kind = A_SQE, .off = LIST};
        uint64_t e[3] = {WBUF + 3 * 4096ull, WBUF + 4 * 4096ull, WBUF + 5 * 4096ull};
        memcpy(a->sqe, e, sizeof e);
    }
    sqe(60000, IOSQ, 0, NVME_IO_WRITE, 10, 1, WBUF, WBUF + 4096, 100, 0, 1);     /* lba 100, 2 */
    sqe(60000, IOSQ, 1, NVME_IO_FLUSH, 11, 1, 0, 0, 0, 0, 0);
    sqe(60000, IOSQ, 2, NVME_IO_WRITE, 12, 1, WBUF + 2 * 4096, LIST, 200, 0, 3); /* lba 200, 4 */
    act(60000, A_RING, 8, 3, 4);
    sqe(400000, IOSQ, 3, NVME_IO_READ, 13, 1, RBUF, RBUF + 4096, 100, 0, 1);
    sqe(400000, IOSQ, 4, NVME_IO_READ, 14, 1, RBUF + 2 * 4096, LIST + 2048, 200, 0, 3);
    act(400000, A_SQE, LIST + 2048, 0, 0); /* the read's list: RBUF pages 3, 4, 5 */
    {
        struct act *a = &aAct[nAct - 1];
        uint64_t e[3] = {RBUF + 3 * 4096ull, RBUF + 4 * 4096ull, RBUF + 5 * 4096ull};
        memset(a->sqe, 0, sizeof a->sqe);
        memcpy(a->sqe, e, sizeof e);
    }
    sqe(400000, IOSQ, 5, 0x7F, 15, 1, RBUF, 0, 0, 0, 0);                 /* bad opcode */
    sqe(400000, IOSQ, 6, NVME_IO_READ, 16, 1, RBUF, 0, 16384, 0, 0);      /* past 64 MiB */
    sqe(400000, IOSQ, 7, NVME_IO_READ, 17, 2, RBUF, 0, 0, 0, 0);          /* no namespace 2 */
    act(400000, A_RING, 12, 3, 4); /* CQ head: the first 3 consumed */
    act(400000, A_RING, 8, 0, 4);  /* SQ tail wraps to 0: entries 3..7 */
    sqe(600000, IOSQ, 0, NVME_IO_FLUSH, 18, 1, 0, 0, 0, 0, 0);
    act(600000, A_RING, 12, 0, 4); /* CQ head 0: all 8 consumed */
    act(600000, A_RING, 8, 1, 4);
    struct run r;
    char yaml[2048];
    snprintf(yaml, sizeof yaml, yaml_fmt, "1ms", "false", "cmd_overhead: 1us", "");
    run_yaml(&r, "rt.yaml", yaml);
    assert_null(orr_sim_failure(r.sc.sim));
    /* admin: three successes, in order */
    for (unsigned i = 0; i < 3; i++) {
        struct cqe e = cqe_at(&r, ACQ, i);
        assert_int_equal(e.status, 0);
        assert_int_equal(e.cid, i + 1);
        assert_int_equal(e.phase, 1);
    }
    const struct hostmem *m = hostmem_peek(r.sc.sim, "n.mem");
    uint64_t nsze = 0;
    hostmem_read(m, IDBUF, &nsze, 8);
    assert_int_equal(nsze, (64u << 20) / 4096); /* Identify namespace: NSZE in blocks */
    /* I/O: completions in the order the device finished them; find each */
    unsigned st[20] = {0};
    for (unsigned i = 0; i < QN; i++) {
        struct cqe e = cqe_at(&r, IOCQ, i);
        if (e.cid >= 10 && e.cid < 20) {
            st[e.cid] = e.status + 1;
            assert_int_equal(e.sqid, 1);
        }
    }
    /* the 9th completion (cid 18) wrapped into entry 0 with phase 0 */
    struct cqe w = cqe_at(&r, IOCQ, 0);
    assert_int_equal(w.cid, 18);
    assert_int_equal(w.phase, 0);
    assert_int_equal(w.status, 0);
    /* the FLUSH came before the first write's data was in (it covers
     * nothing and finished first: entry 0, overwritten by cid 18) */
    assert_int_equal(st[11], 0);
    for (unsigned cid = 12; cid <= 14; cid++)
        assert_int_equal(st[cid], 1); /* success */
    assert_int_equal(st[10], 1);
    assert_int_equal(st[15] - 1, NVME_SC_INVALID_OPCODE);
    assert_int_equal(st[16] - 1, NVME_SC_LBA_RANGE);
    assert_int_equal(st[17] - 1, NVME_SC_INVALID_NS);
    /* the data came back, page by page, through PRP2 and the lists */
    for (unsigned p = 0; p < 6; p++)
        assert_true(page_is(&r, RBUF + 4096ull * p, (uint8_t)(11 + p)));
    assert_true(metric(&r, "n.ssd", "errors") == 3);
    assert_true(metric(&r, "n.ssd", "reads") == 2);
    assert_true(metric(&r, "n.ssd", "writes") == 2);
    assert_true(metric(&r, "n.ssd", "flushes") == 2);
    assert_true(metric(&r, "n.rc", "irqs") == metric(&r, "n.ssd", "irqs"));
    assert_true(metric(&r, "n.ssd", "irqs") >= 12); /* 3 admin + 9 I/O completions */
    run_free(&r);
}

/* A PRP outside what the IOMMU granted: the device's DMA is refused, the
 * command completes with Data Transfer Error, the run goes on; a write
 * inside the grant succeeds. */
static void test_iommu_fault(void **state)
{
    (void)state;
    nAct = 0;
    act(100, A_MAP, 0, 1u << 20, 0); /* [0, 1 MiB) -> bus iova_base */
    uint64_t bus = 1ull << 32;       /* pcie_rc's iova_base: 4 GiB */
    bring_up(1000, bus);
    act(50000, A_MEM, WBUF, 3, 0);
    sqe(60000, IOSQ, 0, NVME_IO_WRITE, 20, 1, bus + (2u << 20), 0, 7, 0, 0); /* not granted */
    sqe(60000, IOSQ, 1, NVME_IO_WRITE, 21, 1, bus + WBUF, 0, 8, 0, 0);
    act(60000, A_RING, 8, 2, 4);
    struct run r;
    char yaml[2048];
    snprintf(yaml, sizeof yaml, yaml_fmt, "500us", "true", "cmd_overhead: 1us", "");
    run_yaml(&r, "iommu.yaml", yaml);
    assert_null(orr_sim_failure(r.sc.sim));
    assert_int_equal(map_bus, bus);
    struct cqe a = cqe_at(&r, IOCQ, 0), b = cqe_at(&r, IOCQ, 1);
    struct cqe bad = a.cid == 20 ? a : b, good = a.cid == 20 ? b : a;
    assert_int_equal(bad.cid, 20);
    assert_int_equal(bad.status, NVME_SC_DATA_XFER_ERROR);
    assert_int_equal(good.cid, 21);
    assert_int_equal(good.status, 0);
    assert_true(metric(&r, "n.rc", "iommu.faults") >= 1);
    assert_true(metric(&r, "n.ssd", "errors") == 1);
    run_free(&r);
}

/* Power loss. The media programs one block per 1.02 ms (destage_rate
 * 4 MB/s), so the cache stays dirty long enough to see what is lost:
 *   lba 1: written, then a FLUSH (which waits for its destage): survives;
 *   lba 5: FUA, acknowledged after its program (~2.1 ms): survives;
 *   lba 2: FUA, submitted at 5 ms, programming until ~6 ms: the power
 *          fails at 5.5 ms, before its acknowledgement -- so it may be
 *          lost, and it must not have been acknowledged;
 *   lba 3: written at 5 ms, acknowledged from the cache, not flushed: lost.
 * The host then brings the controller up again (a fresh CQ) and reads all
 * four. The rule checked: data acknowledged after a FLUSH, or with FUA,
 * survives; acknowledged-but-unflushed data may not. */
#define IOCQ2 0x16000u
static void test_power_loss(void **state)
{
    (void)state;
    nAct = 0;
    bring_up(1000, 0);
    for (unsigned p = 0; p < 4; p++)
        act(50000, A_MEM, WBUF + 4096ull * p, 40 + p, 0);
    sqe(60000, IOSQ, 0, NVME_IO_WRITE, 30, 1, WBUF, 0, 1, 0, 0);
    act(60000, A_RING, 8, 1, 4);
    sqe(200000, IOSQ, 1, NVME_IO_FLUSH, 31, 1, 0, 0, 0, 0, 0);
    sqe(200000, IOSQ, 2, NVME_IO_WRITE, 34, 1, WBUF + 3 * 4096, 0, 5, 0, NVME_RW_FUA);
    act(200000, A_RING, 8, 3, 4);
    sqe(5000000, IOSQ, 3, NVME_IO_WRITE, 32, 1, WBUF + 4096, 0, 2, 0, NVME_RW_FUA);
    sqe(5000000, IOSQ, 4, NVME_IO_WRITE, 33, 1, WBUF + 8192, 0, 3, 0, 0);
    act(5000000, A_RING, 8, 5, 4);
    /* the power fails at 5.5 ms (the scenario's fault), back at 5.6 ms */
    act(6000000, A_REG, NVME_REG_CC, 0, 4);
    for (unsigned i = 0; i < 16; i++) /* a fresh admin CQ and a second I/O CQ */
        act(6000000, A_SQE, ACQ + 64ull * i, 0, 0), act(6000000, A_SQE, IOCQ2 + 64ull * i, 0, 0);
    bring_up_cq(6100000, 0, IOCQ2);
    static const unsigned lba[4] = {1, 5, 2, 3};
    for (unsigned p = 0; p < 4; p++)
        sqe(6200000, IOSQ, p, NVME_IO_READ, (uint16_t)(40 + p), 1, RBUF + 4096ull * p, 0, lba[p],
            0, 0);
    act(6200000, A_RING, 8, 4, 4);
    struct run r;
    char yaml[2048];
    snprintf(yaml, sizeof yaml, yaml_fmt, "7ms", "false",
             "cmd_overhead: 1us, destage_rate: 4MB/s, program_latency: 10us",
             "faults:\n  - {at: 5500us, component: n.ssd, fault: power_loss, off: 100us}\n");
    run_yaml(&r, "power.yaml", yaml);
    assert_null(orr_sim_failure(r.sc.sim));
    /* before the loss: which writes were acknowledged */
    bool acked[40] = {false};
    for (unsigned i = 0; i < QN; i++) {
        struct cqe e = cqe_at(&r, IOCQ, i);
        if (e.phase == 1 && e.cid >= 30 && e.cid < 40 && e.status == 0)
            acked[e.cid] = true;
    }
    assert_true(acked[30] && acked[31] && acked[34]); /* lba 1, its FLUSH, FUA lba 5 */
    assert_true(acked[33]);                            /* lba 3, from the cache */
    /* after: every read succeeded */
    for (unsigned i = 0; i < 4; i++) {
        struct cqe e = cqe_at(&r, IOCQ2, i);
        assert_int_equal(e.status, 0);
        assert_true(e.cid >= 40 && e.cid <= 43);
    }
    assert_true(page_is(&r, RBUF, 40));                 /* flushed: survives */
    assert_true(page_is(&r, RBUF + 4096, 43));          /* FUA, acknowledged: survives */
    /* FUA lba 2: acknowledged implies durable */
    assert_true(!acked[32] || page_is(&r, RBUF + 8192, 41));
    assert_true(page_zero(&r, RBUF + 3 * 4096));        /* unflushed: lost */
    assert_true(metric(&r, "n.ssd", "lost_blocks") >= 1);
    assert_true(metric(&r, "n.ssd", "power_losses") == 1);
    run_free(&r);
}

/* Bad input: a namespace larger than the device, dies not a multiple of
 * channels: load errors at file:line:col. */
static void test_bad_params(void **state)
{
    (void)state;
    char path[512];
    tmpdir_path(path, sizeof path, "bad.yaml");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("name: t\ncomponents:\n  ssd: {type: nvme, capacity: 1GiB, namespace: 2GiB, "
          "dies: 12}\n",
          f);
    fclose(f);
    struct orr_scenario sc;
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = orr_scenario_open(&sc, path, NULL, 0, NULL, orr_builtin_types, &d);
    assert_int_not_equal(rc, 0);
    assert_int_equal(d.nMsg, 2);
    char msg[512];
    orr_diag_format(&d.aMsg[0], msg, sizeof msg);
    assert_non_null(strstr(msg, "bad.yaml:3:48: error: components.ssd.namespace: a namespace of "
                                "2147483648 bytes is larger than the device's capacity"));
    orr_diag_format(&d.aMsg[1], msg, sizeof msg);
    assert_non_null(strstr(msg, "components.ssd.dies: 12 dies on 8 channels"));
    orr_scenario_close(&sc);
    orr_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_iommu_fault),
        cmocka_unit_test(test_power_loss),
        cmocka_unit_test(test_bad_params),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
