/* `orrery litmus`: runs litmus tests (workloads/litmus.h) many times on
 * the modelled machine — one core per test thread, timings perturbed per
 * run from the seed — and checks the outcome histogram against each test's
 * TSO expectation. A verb of the hardware library (include/orrery/
 * registry.h: orr_builtin_verbs) because it needs tcore and the coherence
 * monitor, which the engine's own CLI may not name. docs/litmus.md. */
#ifndef HW_CPU_LITMUS_RUN_H
#define HW_CPU_LITMUS_RUN_H

/* The verb's entry point: argv[0] is "litmus". Returns an exit status:
 * 0 every test met its expectation, 1 a test failed it or a run failed,
 * 2 bad input or usage (a malformed test: nothing is run). */
int litmus_run_main(int argc, char **argv);

#endif
