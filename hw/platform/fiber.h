/* Fibers: the coroutines kernel CPUs run on (docs/kernel-platform.md).
 * Kernel C code runs natively on a fiber's own stack; when it needs the
 * machine (a cache miss, a step of simulated time) it yields back to the
 * engine, and the engine resumes it from an event. Nothing runs
 * concurrently: a fiber runs only between fiber_resume and its next
 * fiber_yield, on the engine's thread, so the interleaving of fibers is the
 * event order and as deterministic as it.
 *
 * Switching: on x86_64 a few instructions that save the callee-saved
 * registers and swap stack pointers (tens of ns); elsewhere, or built with
 * FIBER_UCONTEXT, ucontext's swapcontext (slower: it saves the signal
 * mask). Under AddressSanitizer every switch is announced with
 * __sanitizer_start_switch_fiber/__sanitizer_finish_switch_fiber, so ASan
 * follows the stacks. The floating-point control state is not switched:
 * kernel code does not change it. Private to hw/platform. */
#ifndef HW_PLATFORM_FIBER_H
#define HW_PLATFORM_FIBER_H

#include <stdbool.h>
#include <stddef.h>

#ifdef FIBER_UCONTEXT
#include <ucontext.h>
#endif

struct fiber {
    void (*fn)(void *);
    void *arg;
    void *stack;          /* malloc'ed, stack_bytes */
    size_t stack_bytes;
    bool started, done;
#ifdef FIBER_UCONTEXT
    ucontext_t ctx, caller;
#else
    void *sp;             /* the fiber's saved stack pointer while it is suspended */
    void *caller_sp;      /* the resumer's, while the fiber runs */
#endif
    /* AddressSanitizer bookkeeping (unused otherwise) */
    void *caller_fake;    /* the resumer's fake stack while the fiber runs */
    void *fiber_fake;     /* the fiber's while it is suspended */
    const void *caller_bottom;
    size_t caller_size;
};

#define FIBER_STACK_DEFAULT (256u * 1024u)

/* Prepare f to run fn(arg) on a new stack of stack_bytes (at least 16 KiB);
 * nothing runs until the first fiber_resume. Returns false when memory is
 * short. */
bool fiber_init(struct fiber *f, void (*fn)(void *), void *arg, size_t stack_bytes);
/* Run f until it yields or fn returns (then fiber_done). Not from inside a
 * fiber: fibers do not nest. */
void fiber_resume(struct fiber *f);
/* From inside f: back to the fiber_resume that ran it. */
void fiber_yield(struct fiber *f);
bool fiber_done(const struct fiber *f);
/* Free the stack (a suspended fiber's frames are abandoned, never run). */
void fiber_free(struct fiber *f);

#endif
