/* Fibers (fiber.h): stacks, the x86_64 switch, the ucontext fallback and
 * the AddressSanitizer announcements.
 *
 * Invariants:
 *   1. A fiber is suspended (sp/ctx holds its state) or running (it is the
 *      code executing); only a suspended, not-done fiber may be resumed.
 *   2. While f runs, caller_sp/caller holds the resumer's state, and
 *      fiber_yield(f) or fn's return switches back to exactly it. */
#include "fiber.h"

#include <stdint.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_ASAN 1
#endif
#endif

#ifdef FIBER_ASAN
#include <sanitizer/common_interface_defs.h>
#define ASAN_START(save, bottom, size) __sanitizer_start_switch_fiber(save, bottom, size)
#define ASAN_FINISH(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#else
#define ASAN_START(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define ASAN_FINISH(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#endif

#if !defined(FIBER_UCONTEXT) && !defined(__x86_64__)
#error "fibers: no stack switch for this architecture; build with -DFIBER_UCONTEXT"
#endif

static void fiber_main(struct fiber *f)
{
    /* first time on this stack: note where the resumer's stack is */
    ASAN_FINISH(NULL, &f->caller_bottom, &f->caller_size);
    f->fn(f->arg);
    f->done = true;
    /* the fiber's stack ends here: no fake stack to keep */
    ASAN_START(NULL, f->caller_bottom, f->caller_size);
#ifdef FIBER_UCONTEXT
    setcontext(&f->caller);
#else
    void *dead;
    extern void orr__fiber_swap(void **save_sp, void *load_sp);
    orr__fiber_swap(&dead, f->caller_sp);
#endif
    abort(); /* never resumed again */
}

#ifndef FIBER_UCONTEXT
/* orr__fiber_swap(save_sp, load_sp): push the System V callee-saved
 * registers, store the stack pointer in *save_sp, load load_sp, pop the
 * same registers from it and return into whatever that stack was doing.
 * orr__fiber_start is where a new fiber's first swap returns to: its
 * initial frame holds the fiber in rbx. */
__asm__(".text\n"
        ".globl orr__fiber_swap\n"
        ".type orr__fiber_swap,@function\n"
        "orr__fiber_swap:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size orr__fiber_swap, .-orr__fiber_swap\n"
        ".globl orr__fiber_start\n"
        ".type orr__fiber_start,@function\n"
        "orr__fiber_start:\n"
        "    movq %rbx, %rdi\n"
        "    andq $-16, %rsp\n" /* the ABI's alignment at a call */
        "    call fiber_main_entry\n"
        "    ud2\n"
        ".size orr__fiber_start, .-orr__fiber_start\n");

void orr__fiber_swap(void **save_sp, void *load_sp);
void orr__fiber_start(void);
void fiber_main_entry(struct fiber *f);

/* reached only from the asm above: kept and visible under LTO */
__attribute__((used)) void fiber_main_entry(struct fiber *f) { fiber_main(f); }
#else
static void fiber_trampoline(unsigned hi, unsigned lo)
{
    fiber_main((struct fiber *)(((uintptr_t)hi << 32) | (uintptr_t)lo));
}
#endif

bool fiber_init(struct fiber *f, void (*fn)(void *), void *arg, size_t stack_bytes)
{
    *f = (struct fiber){.fn = fn, .arg = arg};
    if (stack_bytes < 16384)
        stack_bytes = 16384;
    stack_bytes = (stack_bytes + 15) & ~(size_t)15;
    f->stack = malloc(stack_bytes);
    if (!f->stack)
        return false;
    f->stack_bytes = stack_bytes;
#ifdef FIBER_UCONTEXT
    if (getcontext(&f->ctx)) {
        free(f->stack);
        f->stack = NULL;
        return false;
    }
    f->ctx.uc_stack.ss_sp = f->stack;
    f->ctx.uc_stack.ss_size = stack_bytes;
    f->ctx.uc_link = NULL;
    uintptr_t p = (uintptr_t)f;
    makecontext(&f->ctx, (void (*)(void))fiber_trampoline, 2, (unsigned)(p >> 32),
                (unsigned)(p & 0xFFFFFFFFu));
#else
    /* the initial frame, from the top: a zero return address (keeps the
     * start function's stack aligned as if called), orr__fiber_start, and
     * the six registers orr__fiber_swap pops (rbx = f) */
    uintptr_t *top = (uintptr_t *)((char *)f->stack + stack_bytes);
    uintptr_t *sp = top - 8;
    sp[7] = 0;                           /* fake return address of the start function */
    sp[6] = (uintptr_t)orr__fiber_start; /* ret target */
    sp[5] = 0;                           /* rbp */
    sp[4] = (uintptr_t)f;                /* rbx */
    sp[3] = sp[2] = sp[1] = sp[0] = 0;   /* r12 r13 r14 r15 */
    f->sp = sp;
#endif
    return true;
}

void fiber_resume(struct fiber *f)
{
    if (f->done)
        return;
    f->started = true;
    ASAN_START(&f->caller_fake, f->stack, f->stack_bytes);
#ifdef FIBER_UCONTEXT
    swapcontext(&f->caller, &f->ctx);
#else
    orr__fiber_swap(&f->caller_sp, f->sp);
#endif
    ASAN_FINISH(f->caller_fake, NULL, NULL);
}

void fiber_yield(struct fiber *f)
{
    ASAN_START(&f->fiber_fake, f->caller_bottom, f->caller_size);
#ifdef FIBER_UCONTEXT
    swapcontext(&f->ctx, &f->caller);
#else
    orr__fiber_swap(&f->sp, f->caller_sp);
#endif
    ASAN_FINISH(f->fiber_fake, &f->caller_bottom, &f->caller_size);
}

bool fiber_done(const struct fiber *f) { return f->done; }

void fiber_free(struct fiber *f)
{
    free(f->stack);
    f->stack = NULL;
}
