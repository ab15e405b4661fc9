/* ISA-mode speed: guest MIPS on one host core for the L1-resident loop
 * guest (workloads/guest/loop.c), on 1 and 4 guest cores, in two modes —
 * functional (timing: false: no cache or fetch timing) and timed (caches
 * and coherence modelled, invariant checks off) — against bare Unicorn
 * running the same binary with no hooks but the exit syscall. Prints
 *   BENCH isa.<mode>.<arch|Ncore> <MIPS> MIPS
 * Targets (issue: CPU cores and ISA mode): timed >= 20 MIPS;
 * functional >= 50 % of bare Unicorn. */
#define _DEFAULT_SOURCE /* mmap, MAP_ANONYMOUS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unicorn/unicorn.h>

#include "hw/elf.h"
#include "hw/registry.h"
#include "orrery/scenario.h"

#ifndef ORRERY_GUEST_DIR
#define ORRERY_GUEST_DIR "build/guest"
#endif

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Run the loop guest on `cores` cores; returns MIPS, *insns the total. */
static double sim_mips(unsigned cores, int timed, const char *arch, double *insns)
{
    char path[] = "/tmp/orrery-isa-mips-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f)
        abort();
    fprintf(f, "name: isa-mips\nseed: 1\nstop: {duration: 1s}\nmachine:\n  cores_per_socket: %u\n"
               "  check: false\n  workloads:\n    - {cores: all, elf: %s/loop-%s, arch: %s, "
               "timing: %s}\n", cores, ORRERY_GUEST_DIR, arch, arch, timed ? "true" : "false");
    fclose(f);
    struct orr_scenario sc;
    struct orr_diag d;
    orr_diag_init(&d);
    memset(&sc, 0, sizeof sc);
    if (orr_scenario_open(&sc, path, NULL, 0, NULL, orr_builtin_types, &d)) {
        orr_diag_print(&d, stderr);
        exit(1);
    }
    struct orr_run_hooks hooks = {0};
    double t0 = wall();
    orr_sim_run(sc.sim, &hooks);
    double dt = wall() - t0;
    orr_sim_finish(sc.sim);
    const struct orr_metric *am;
    size_t n = orr_sim_metrics(sc.sim, &am);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(am[i].name, "instructions") == 0)
            sum += am[i].value;
    orr_scenario_close(&sc);
    orr_diag_free(&d);
    remove(path);
    *insns = sum;
    return sum / dt / 1e6;
}

static void on_intr(uc_engine *uc, uint32_t intno, void *arg)
{
    (void)intno, (void)arg;
    uc_emu_stop(uc); /* the loop guest's only syscalls: write, then exit */
}

/* Bare Unicorn on the same binary: one engine, RAM by pointer, stops at
 * the first syscall after the loop (its write). insns from a sim run. */
static double bare_mips(const char *arch, double insns)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/loop-%s", ORRERY_GUEST_DIR, arch);
    uint64_t size = 64u << 20;
    uint8_t *ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct isa_elf_info info;
    int riscv = strcmp(arch, "riscv64") == 0;
    if (ram == MAP_FAILED || isa_elf_load(path, riscv ? ISA_RISCV64 : ISA_AARCH64, ram, size, &info,
                                          err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    uc_engine *uc;
    uc_open(riscv ? UC_ARCH_RISCV : UC_ARCH_ARM64, riscv ? UC_MODE_RISCV64 : UC_MODE_ARM, &uc);
    uc_mem_map_ptr(uc, 0, size, UC_PROT_ALL, ram);
    uc_hook h;
    uc_hook_add(uc, &h, UC_HOOK_INTR, (void *)on_intr, NULL, 1, 0);
    uint64_t sp = size - 16, zero = 0, one = 1;
    uc_reg_write(uc, riscv ? UC_RISCV_REG_SP : UC_ARM64_REG_SP, &sp);
    uc_reg_write(uc, riscv ? UC_RISCV_REG_A0 : UC_ARM64_REG_X0, &zero);
    uc_reg_write(uc, riscv ? UC_RISCV_REG_A1 : UC_ARM64_REG_X1, &one);
    double t0 = wall();
    uc_emu_start(uc, info.entry, UINT64_C(0xFFFFFFFFFFFFFFF0), 0, 0);
    double dt = wall() - t0;
    uc_close(uc);
    munmap(ram, size);
    return insns / dt / 1e6;
}

static double median3(double a, double b, double c)
{
    return a > b ? (b > c ? b : a > c ? c : a) : (a > c ? a : b > c ? c : b);
}

int main(void)
{
    const char *arch = "riscv64";
    double insns1 = 0, insns4 = 0, x;
    double f1 = median3(sim_mips(1, 0, arch, &insns1), sim_mips(1, 0, arch, &x),
                        sim_mips(1, 0, arch, &x));
    double f4 = median3(sim_mips(4, 0, arch, &insns4), sim_mips(4, 0, arch, &x),
                        sim_mips(4, 0, arch, &x));
    double t1 = median3(sim_mips(1, 1, arch, &x), sim_mips(1, 1, arch, &x), sim_mips(1, 1, arch, &x));
    double t4 = median3(sim_mips(4, 1, arch, &x), sim_mips(4, 1, arch, &x), sim_mips(4, 1, arch, &x));
    double bare = median3(bare_mips(arch, insns1), bare_mips(arch, insns1), bare_mips(arch, insns1));
    printf("BENCH isa.bare_unicorn.%s %.1f MIPS\n", arch, bare);
    printf("BENCH isa.functional.1core %.1f MIPS\n", f1);
    printf("BENCH isa.functional.4core %.1f MIPS\n", f4);
    printf("BENCH isa.timed.1core %.1f MIPS\n", t1);
    printf("BENCH isa.timed.4core %.1f MIPS\n", t4);
    printf("BENCH isa.functional_vs_bare %.2f x\n", f1 / bare);
    (void)insns4;
    return 0;
}
