/* PCIe (docs/pcie.md): link bandwidth and serialisation per generation and
 * width, TLP header packing, DMA reads split into the right number of line
 * requests (aligned and not), completions matched to their tags, and host
 * MMIO through the root complex: registers written, a copy rung by
 * doorbell, a read answered, and an address in no BAR counted and answered
 * with all ones. The switch: MMIO routed down by BAR range (the device sees
 * its offset), completions routed down by requester id while two engines
 * read concurrently, a request with a foreign requester id failing the run,
 * and overlapping ranges refused at load time with file:line:col. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/registry.h"
#include "orrery/pcie.h"
#include "orrery/scenario.h"
#include "testutil.h"

/* --- link arithmetic and formats ----------------------------------------- */

static void test_link_math(void **state)
{
    (void)state;
    assert_int_equal(pcie_link_bps(1, 1), 2000000000ull);         /* 2.5 GT/s, 8b/10b */
    assert_int_equal(pcie_link_bps(2, 4), 16000000000ull);        /* 5 GT/s x4 */
    assert_int_equal(pcie_link_bps(3, 8), 63015384608ull);        /* 8 GT/s 128b/130b x8 */
    assert_int_equal(pcie_link_bps(4, 16), 252061538448ull);      /* 16 GT/s x16 */
    assert_int_equal(pcie_link_bps(5, 8), 252061538456ull);       /* 32 GT/s x8 */
    assert_int_equal(pcie_link_bps(5, 8) / 2, pcie_link_bps(5, 4));
    assert_int_equal(pcie_link_bps(6, 8), 0);
    assert_int_equal(pcie_link_bps(3, 3), 0);
    assert_int_equal(pcie_link_bps(0, 1), 0);
    for (unsigned w = 0; w <= 32; w++)
        assert_int_equal(pcie_width_valid(w), w == 1 || w == 2 || w == 4 || w == 8 || w == 16);
    assert_int_equal(pcie_wire_bytes(256), 256 + PCIE_TLP_OVERHEAD);
    assert_int_equal(pcie_wire_time(1, 1, 1), 4000);     /* 8 bits at 2 Gbit/s */
    assert_int_equal(pcie_wire_time(3, 8, 280), 35547);  /* rounded up */
    /* doubling the width halves the time (to rounding) */
    assert_true(pcie_wire_time(4, 16, 4096) * 2 <= pcie_wire_time(4, 8, 4096) + 1);
    struct pcie_tx t = {.gen = 1, .width = 1};
    assert_int_equal(pcie_tx_delay(&t, 0, 1), 4000);
    assert_int_equal(pcie_tx_delay(&t, 0, 1), 8000); /* queued behind the first */
    assert_int_equal(pcie_tx_delay(&t, 100000, 1), 4000);
}

static void test_header_roundtrip(void **state)
{
    (void)state;
    struct pcie_hdr h = {.type = PCIE_CPLD, .tag = 1023, .requester = 0xBEEF, .length = 4096};
    struct pcie_hdr u = pcie_hdr_unpack(pcie_hdr_pack(&h));
    assert_int_equal(u.type, PCIE_CPLD);
    assert_int_equal(u.tag, 1023);
    assert_int_equal(u.requester, 0xBEEF);
    assert_int_equal(u.length, 4096);
    uint64_t w = pcie_mmio_pack(PCIE_MMIO_RD, 8, 0x1000000018ull);
    assert_int_equal(pcie_mmio_op(w), PCIE_MMIO_RD);
    assert_int_equal(pcie_mmio_size(w), 8);
    assert_int_equal(pcie_mmio_addr(w), 0x1000000018ull);
}

/* --- whole paths --------------------------------------------------------- */

struct run {
    struct orr_scenario sc;
    struct orr_diag d;
};

/* The MMIO probe: a test-only host that writes a DMA engine's registers
 * through the root complex, rings it, reads an address in no BAR, and
 * later reads the engine's DONE register. */
#define BAR 0x1000000000ull /* pcie_rc's default bar_base, 64 GiB */
struct probe {
    struct orr_port *out;
    unsigned step;
    uint64_t aResp[4];
    unsigned nResp;
};
static const struct orr_param probe_params[] = {{NULL}};
static const struct orr_port_doc probe_ports[] = {{"out", "to pcie_rc.host"}, {NULL}};
static int probe_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    (void)p;
    (void)d;
    struct probe *s = c->state;
    s->out = orr_port_add(c, "out");
    return 0;
}
static int probe_start(struct orr_component *c, struct orr_diag *d)
{
    (void)d;
    orr_timer(c, 1000, 0, 0, 0);
    return 0;
}
static void mmio(struct probe *s, enum pcie_mmio_op op, uint64_t addr, uint64_t v)
{
    struct orr_msg m = {.size = PCIE_MMIO_BYTES, .data = {pcie_mmio_pack(op, 8, addr), v}};
    assert_int_equal(orr_port_send(s->out, &m, 0), 0);
}
static void probe_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct probe *s = c->state;
    if (ev->kind == ORR_TK_MSG) {
        assert_int_equal(pcie_mmio_op(ev->data[0]), PCIE_MMIO_RESP);
        s->aResp[s->nResp++ % 4] = ev->data[1];
        return;
    }
    if (s->step == 0) {
        mmio(s, PCIE_MMIO_WR, BAR + 0x00, 0);      /* SRC */
        mmio(s, PCIE_MMIO_WR, BAR + 0x08, 65536);  /* DST */
        mmio(s, PCIE_MMIO_WR, BAR + 0x10, 1000);   /* LEN */
        mmio(s, PCIE_MMIO_WR, BAR + 0x18, 1);      /* DOORBELL */
        mmio(s, PCIE_MMIO_RD, 0x20, 0);            /* in no BAR */
        orr_timer(c, 50 * ORR_US, 0, 0, 0);
    } else {
        mmio(s, PCIE_MMIO_RD, BAR + 0x20, 0);      /* DONE */
    }
    s->step++;
}
static const struct orr_component_type probe_type = {
    .name = "mmio_probe", .summary = "test", .params = probe_params, .ports = probe_ports,
    .state_size = sizeof(struct probe), .create = probe_create, .start = probe_start,
    .handle = probe_handle,
};

/* The IOMMU probe: a test-only kernel that maps a source page (read) and
 * a destination page (write) for device 0 through IOMMU commands, then
 * rings two 1000-byte copies 100 us apart between their bus addresses. */
struct iprobe {
    struct orr_port *out;
    unsigned step, nResp;
    int64_t aResp[8];
};
static int iprobe_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    (void)p;
    (void)d;
    struct iprobe *s = c->state;
    s->out = orr_port_add(c, "out");
    return 0;
}
static void iommu_cmd(struct orr_component *c, struct iprobe *s, enum pcie_mmio_op op, uint64_t pa,
                      bool write)
{
    struct pcie_iommu_cmd *k;
    uint64_t blob = orr_blob_new(c->sim, sizeof *k, (void **)&k);
    *k = (struct pcie_iommu_cmd){.dev = 0, .write = write, .pa = pa, .bus = pa, .len = 4096};
    struct orr_msg m = {.size = PCIE_MMIO_BYTES, .data = {pcie_mmio_pack(op, 0, 0), blob}};
    assert_int_equal(orr_port_send(s->out, &m, 0), 0);
}
static void iprobe_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct iprobe *s = c->state;
    if (ev->kind == ORR_TK_MSG) {
        s->aResp[s->nResp++ % 8] = (int64_t)ev->data[1];
        return;
    }
    if (s->step == 0) {
        iommu_cmd(c, s, PCIE_IOMMU_MAP, 0x100, false);  /* src: page 0, read only */
        iommu_cmd(c, s, PCIE_IOMMU_MAP, 0x10000, true); /* dst: page 16, writable */
        orr_timer(c, 10 * ORR_US, 0, 0, 0);
    } else if (s->step <= 2) {
        struct orr_msg m = {.size = PCIE_MMIO_BYTES};
        uint64_t regs[4][2] = {{0x00, (uint64_t)s->aResp[0]}, {0x08, (uint64_t)s->aResp[1]},
                               {0x10, 1000}, {0x18, 1}};
        for (unsigned i = 0; i < 4; i++) {
            m.data[0] = pcie_mmio_pack(PCIE_MMIO_WR, 8, BAR + regs[i][0]);
            m.data[1] = regs[i][1];
            assert_int_equal(orr_port_send(s->out, &m, 0), 0);
        }
        if (s->step == 1)
            orr_timer(c, 100 * ORR_US, 0, 0, 0);
    }
    s->step++;
}
static int iprobe_start(struct orr_component *c, struct orr_diag *d)
{
    (void)d;
    orr_timer(c, 1000, 0, 0, 0);
    return 0;
}
static const struct orr_component_type iprobe_type = {
    .name = "iommu_probe", .summary = "test", .params = probe_params, .ports = probe_ports,
    .state_size = sizeof(struct iprobe), .create = iprobe_create, .start = iprobe_start,
    .handle = iprobe_handle,
};

static void run_yaml(struct run *r, const char *name, const char *yaml)
{
    static const struct orr_component_type *aType[64];
    size_t n = 0;
    while (orr_builtin_types[n]) {
        aType[n] = orr_builtin_types[n];
        n++;
    }
    assert_true(n + 3 <= 64);
    aType[n] = &probe_type;
    aType[n + 1] = &iprobe_type;
    aType[n + 2] = NULL;
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

static const char dma_fmt[] =
    "name: t\nstop: {duration: 1ms}\n"
    "components:\n"
    "  mem: {type: flatmem, size: 16MiB}\n"
    "  rc: {type: pcie_rc}\n"
    "  dma: {type: dma_engine, mode: read, copies: 1, bytes: %s, src: %s, max_read: %s, tags: %s}\n"
    "links:\n"
    "  - {from: rc.mem, to: mem.in0, latency: 10ns}\n"
    "  - {from: rc.dev0, to: dma.pcie, latency: 200ns}\n";

static void dma_read(struct run *r, const char *bytes, const char *src, const char *max_read,
                     const char *tags)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml, dma_fmt, bytes, src, max_read, tags);
    run_yaml(r, "dma.yaml", yaml);
    assert_null(orr_sim_failure(r->sc.sim));
}

/* A read of N bytes is ceil(N/64) line requests when aligned, one more
 * when it straddles a line boundary it would otherwise not. */
static void test_dma_lines(void **state)
{
    (void)state;
    static const struct { const char *bytes, *src; double lines; } aCase[] = {
        {"1000B", "0B", 16}, {"64B", "0B", 1}, {"64B", "32B", 2}, {"1B", "63B", 1},
        {"4KiB", "0B", 64}, {"100B", "60B", 3},
    };
    for (size_t i = 0; i < sizeof aCase / sizeof aCase[0]; i++) {
        struct run r;
        dma_read(&r, aCase[i].bytes, aCase[i].src, "4KiB", "1");
        assert_true(metric(&r, "rc", "mem_reads") == aCase[i].lines);
        assert_true(metric(&r, "rc", "irqs") == 1);
        run_free(&r);
    }
}

/* 64 KiB in 512 B reads with 32 tags in flight: every completion matches
 * an outstanding tag of this requester (the engine counts any that does
 * not), and every byte arrives. */
static void test_completion_tags(void **state)
{
    (void)state;
    struct run r;
    dma_read(&r, "64KiB", "0B", "512B", "32");
    assert_true(metric(&r, "dma", "read_requests") == 128);
    assert_true(metric(&r, "dma", "read_round_trip.count") == 128);
    assert_true(metric(&r, "dma", "completion_errors") == 0);
    assert_true(metric(&r, "dma", "dma_read_bytes") == 65536);
    assert_true(metric(&r, "rc", "mem_reads") == 1024);
    assert_int_equal(orr_blob_live(r.sc.sim), 0);
    run_free(&r);
}

/* MMIO from a host: registers and doorbell reach the device's BAR, a read
 * comes back, an address in no BAR is counted and reads as all ones. */
static void test_mmio(void **state)
{
    (void)state;
    struct run r;
    run_yaml(&r, "mmio.yaml",
             "name: t\nstop: {duration: 100us, workloads_done: false}\n"
             "components:\n"
             "  mem: {type: flatmem, size: 16MiB}\n"
             "  rc: {type: pcie_rc}\n"
             "  dma: {type: dma_engine}\n"
             "  host: {type: mmio_probe}\n"
             "links:\n"
             "  - {from: rc.mem, to: mem.in0, latency: 10ns}\n"
             "  - {from: rc.dev0, to: dma.pcie, latency: 200ns}\n"
             "  - {from: host.out, to: rc.host, latency: 50ns}\n");
    assert_null(orr_sim_failure(r.sc.sim));
    const struct probe *p = orr_sim_find(r.sc.sim, "host")->state;
    assert_int_equal(p->nResp, 2);
    assert_int_equal(p->aResp[0], ~UINT64_C(0)); /* no BAR */
    assert_int_equal(p->aResp[1], 1);            /* DONE: one copy */
    assert_true(metric(&r, "rc", "mmio_bad_bar") == 1);
    assert_true(metric(&r, "rc", "mmio_requests") == 6);
    assert_true(metric(&r, "dma", "copies") == 1);
    assert_true(metric(&r, "dma", "dma_write_bytes") == 1000);
    assert_true(metric(&r, "rc", "irqs") == 1);
    run_free(&r);
}

/* The IOMMU: two copies through mappings a host made; the first goes
 * through (its pages miss the IOTLB once each, then hit), then a
 * drop_mapping fault loses the destination's mapping and the second
 * copy's writes are refused, counted and traced, and never reach memory;
 * its reads still go through. Bus addresses are not physical ones. */
static void test_iommu(void **state)
{
    (void)state;
    struct run r;
    run_yaml(&r, "iommu.yaml",
             "name: t\nstop: {duration: 300us, workloads_done: false}\n"
             "components:\n"
             "  mem: {type: flatmem, size: 16MiB}\n"
             "  rc: {type: pcie_rc, iommu: true, iova_base: 1GiB}\n"
             "  dma: {type: dma_engine, max_payload: 128B, max_read: 512B}\n"
             "  host: {type: iommu_probe}\n"
             "links:\n"
             "  - {from: rc.mem, to: mem.in0, latency: 10ns}\n"
             "  - {from: rc.dev0, to: dma.pcie, latency: 200ns}\n"
             "  - {from: host.out, to: rc.host, latency: 50ns}\n"
             "faults:\n"
             "  - {at: 60us, component: rc, fault: drop_mapping, device: 0}\n");
    assert_null(orr_sim_failure(r.sc.sim));
    const struct iprobe *p = orr_sim_find(r.sc.sim, "host")->state;
    assert_int_equal(p->nResp, 2);
    assert_int_equal(p->aResp[0], (1 << 30) + 0x100);          /* page offset kept */
    assert_int_equal(p->aResp[1], (1 << 30) + 8192); /* after src's two pages (0x100 + 4 KiB) */
    assert_true(metric(&r, "rc", "iommu.maps") == 2);
    assert_true(metric(&r, "dma", "copies") == 2);
    assert_true(metric(&r, "rc", "iommu.dropped_mappings") == 1);
    /* 1000 bytes in 128-byte writes: 8 MWRs refused in the second copy */
    assert_true(metric(&r, "rc", "iommu.faults") == 8);
    assert_true(metric(&r, "rc", "dma_write_bytes") == 1000);  /* only the first copy's */
    assert_true(metric(&r, "rc", "dma_read_bytes") == 2000);
    assert_true(metric(&r, "rc", "iommu.iotlb_misses") >= 2);
    assert_true(metric(&r, "rc", "iommu.iotlb_hits") > 0);
    run_free(&r);
}

/* With the IOMMU off a map answers the physical address, and nothing is
 * checked: both copies write. */
static void test_iommu_off_identity(void **state)
{
    (void)state;
    struct run r;
    run_yaml(&r, "noiommu.yaml",
             "name: t\nstop: {duration: 300us, workloads_done: false}\n"
             "components:\n"
             "  mem: {type: flatmem, size: 16MiB}\n"
             "  rc: {type: pcie_rc}\n"
             "  dma: {type: dma_engine}\n"
             "  host: {type: iommu_probe}\n"
             "links:\n"
             "  - {from: rc.mem, to: mem.in0, latency: 10ns}\n"
             "  - {from: rc.dev0, to: dma.pcie, latency: 200ns}\n"
             "  - {from: host.out, to: rc.host, latency: 50ns}\n");
    assert_null(orr_sim_failure(r.sc.sim));
    const struct iprobe *p = orr_sim_find(r.sc.sim, "host")->state;
    assert_int_equal(p->aResp[0], 0x100); /* off: the bus address is the physical one */
    assert_int_equal(p->aResp[1], 0x10000);
    assert_true(metric(&r, "rc", "iommu.faults") == 0);
    assert_true(metric(&r, "dma", "dma_write_bytes") == 2000);
    run_free(&r);
}

/* A DMA outside memory fails the run with the memory's message. */
static void test_dma_outside_memory(void **state)
{
    (void)state;
    struct run r;
    char yaml[1024];
    snprintf(yaml, sizeof yaml, dma_fmt, "64B", "32MiB", "4KiB", "1");
    run_yaml(&r, "bad.yaml", yaml);
    const char *why = orr_sim_failure(r.sc.sim);
    assert_non_null(why);
    assert_non_null(strstr(why, "outside the range served"));
    run_free(&r);
}

/* --- pcie_switch --------------------------------------------------------- */

/* rc.dev0 -> switch -> dma0 on d0, dma1 on d1. %s: d0's and d1's ranges,
 * %s: the requesters list, %s: dma0's extra keys. */
static const char switch_fmt[] =
    "name: t\nstop: {duration: 1ms%s}\n"
    "components:\n"
    "  mem: {type: flatmem, size: 16MiB}\n"
    "  rc: {type: pcie_rc}\n"
    "  sw: {type: pcie_switch, ports: 2,\n"
    "       ranges: [%s],\n"
    "       requesters: [%s]}\n"
    "  dma0: {type: dma_engine, requester: 256, %s}\n"
    "  dma1: {type: dma_engine, requester: 512, %s}\n"
    "%s"
    "links:\n"
    "  - {from: rc.mem, to: mem.in0, latency: 10ns}\n"
    "  - {from: rc.dev0, to: sw.up, latency: 200ns}\n"
    "  - {from: sw.d0, to: dma0.pcie, latency: 50ns}\n"
    "  - {from: sw.d1, to: dma1.pcie, latency: 50ns}\n"
    "%s";

/* MMIO to the root complex's BAR lands on d1, which owns [0, 256 KiB) of
 * it: its registers are written (it sees offsets 0x00..0x20), its copy
 * runs, DONE reads back through the switch; d0 sees nothing. */
static void test_switch_route_by_address(void **state)
{
    (void)state;
    struct run r;
    char yaml[2048];
    snprintf(yaml, sizeof yaml, switch_fmt, ", workloads_done: false",
             "{port: 0, base: 256KiB, size: 768KiB}, {port: 1, base: 0x0, size: 256KiB}",
             "256, 512", "mode: copy", "mode: copy", "  host: {type: mmio_probe}\n",
             "  - {from: host.out, to: rc.host, latency: 50ns}\n");
    run_yaml(&r, "swaddr.yaml", yaml);
    assert_null(orr_sim_failure(r.sc.sim));
    const struct probe *p = orr_sim_find(r.sc.sim, "host")->state;
    assert_int_equal(p->nResp, 2);
    assert_int_equal(p->aResp[0], ~UINT64_C(0)); /* in no BAR of the root complex */
    assert_int_equal(p->aResp[1], 1);            /* dma1's DONE: one copy */
    assert_true(metric(&r, "dma1", "copies") == 1);
    assert_true(metric(&r, "dma1", "dma_write_bytes") == 1000);
    assert_true(metric(&r, "dma0", "copies") == 0);
    assert_true(metric(&r, "sw", "d0.tlps_out") == 0);
    assert_true(metric(&r, "sw", "d0.tlps_in") == 0);
    /* 4 register writes, 1 DONE read, then the copy's 2 completions */
    assert_true(metric(&r, "sw", "d1.tlps_out") == 7);
    assert_true(metric(&r, "sw", "unroutable") == 0);
    assert_true(metric(&r, "rc", "irqs") == 1);
    assert_int_equal(orr_blob_live(r.sc.sim), 0);
    run_free(&r);
}

/* Two engines read concurrently with 32 tags each, the same tags in
 * flight at once: every completion reaches the port of its requester. */
static void test_switch_route_by_requester(void **state)
{
    (void)state;
    struct run r;
    char yaml[2048];
    snprintf(yaml, sizeof yaml, switch_fmt, "",
             "{port: 0, base: 0x0, size: 512KiB}, {port: 1, base: 512KiB, size: 512KiB}",
             "256, 512", "mode: read, copies: 1, bytes: 64KiB, src: 0B",
             "mode: read, copies: 1, bytes: 32KiB, src: 1MiB", "", "");
    run_yaml(&r, "swreq.yaml", yaml);
    assert_null(orr_sim_failure(r.sc.sim));
    assert_true(metric(&r, "dma0", "read_requests") == 128);
    assert_true(metric(&r, "dma1", "read_requests") == 64);
    assert_true(metric(&r, "dma0", "completion_errors") == 0);
    assert_true(metric(&r, "dma1", "completion_errors") == 0);
    assert_true(metric(&r, "dma0", "dma_read_bytes") == 65536);
    assert_true(metric(&r, "dma1", "dma_read_bytes") == 32768);
    assert_true(metric(&r, "sw", "d0.tlps_out") == 128);
    assert_true(metric(&r, "sw", "d1.tlps_out") == 64);
    /* completions: payload + overhead per TLP */
    assert_true(metric(&r, "sw", "d0.bytes_out") == 65536 + 128 * PCIE_TLP_OVERHEAD);
    assert_true(metric(&r, "sw", "d1.bytes_out") == 32768 + 64 * PCIE_TLP_OVERHEAD);
    /* up: 192 reads + 2 MSI-X writes */
    assert_true(metric(&r, "sw", "up.tlps_out") == 194);
    assert_true(metric(&r, "rc", "irqs") == 2);
    assert_int_equal(orr_blob_live(r.sc.sim), 0);
    run_free(&r);
}

/* The switch's requester id for d1 is not dma1's: its first request is
 * unroutable (its completion could not come back) and fails the run. */
static void test_switch_unroutable(void **state)
{
    (void)state;
    struct run r;
    char yaml[2048];
    snprintf(yaml, sizeof yaml, switch_fmt, "",
             "{port: 0, base: 0x0, size: 512KiB}, {port: 1, base: 512KiB, size: 512KiB}",
             "256, 768", "copies: 0", "mode: read, copies: 1, bytes: 64B", "", "");
    run_yaml(&r, "swbad.yaml", yaml);
    const char *why = orr_sim_failure(r.sc.sim);
    assert_non_null(why);
    assert_non_null(strstr(why, "unroutable"));
    assert_non_null(strstr(why, "d1: request from requester 512, but d1's requester is 768"));
    assert_true(metric(&r, "sw", "unroutable") == 1);
    run_free(&r);
}

/* Overlapping ranges are refused when the scenario is loaded, at the later
 * range's file:line:col, naming both. */
static void test_switch_overlap(void **state)
{
    (void)state;
    char yaml[2048], path[512], msg[512];
    snprintf(yaml, sizeof yaml, switch_fmt, "",
             "{port: 0, base: 0x0, size: 512KiB}, {port: 1, base: 256KiB, size: 512KiB}",
             "256, 512", "copies: 0", "copies: 0", "", "");
    tmpdir_path(path, sizeof path, "swover.yaml");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    struct orr_scenario sc;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_not_equal(orr_scenario_open(&sc, path, NULL, 0, NULL, orr_builtin_types, &d), 0);
    assert_true(d.nMsg >= 1);
    orr_diag_format(&d.aMsg[0], msg, sizeof msg);
    /* line 7 is the ranges line; column 53 is the second range */
    assert_non_null(strstr(msg, "swover.yaml:7:53: error: components.sw: range 'd1' "
                                "[0x40000, 0xc0000) overlaps 'd0' [0x0, 0x80000) declared at "));
    assert_non_null(strstr(msg, "swover.yaml:7:17"));
    orr_scenario_close(&sc);
    orr_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_math),
        cmocka_unit_test(test_header_roundtrip),
        cmocka_unit_test(test_dma_lines),
        cmocka_unit_test(test_iommu),
        cmocka_unit_test(test_iommu_off_identity),
        cmocka_unit_test(test_completion_tags),
        cmocka_unit_test(test_mmio),
        cmocka_unit_test(test_dma_outside_memory),
        cmocka_unit_test(test_switch_route_by_address),
        cmocka_unit_test(test_switch_route_by_requester),
        cmocka_unit_test(test_switch_unroutable),
        cmocka_unit_test(test_switch_overlap),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
