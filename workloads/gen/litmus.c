/* Litmus tests in the herd7 x86 format (see litmus.h): a hand-written
 * recursive-descent parser over a position-tracking cursor, the thread
 * interpreter and condition evaluation. The parser stops at the first
 * problem and reports it with its position and what was expected; every
 * limit (threads, instructions, locations, condition size, nesting) is a
 * reported error, never an overflow.
 *
 * File shape:  X86 NAME / ["doc"] / [Key=value lines] / { init } /
 *              P0 | P1 ... ; / rows of cells ... ; / exists|~exists|forall COND
 * Comments are (* ... *), nested; one of them may be the orrery expectation. */
#include "workloads/litmus.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/error.h"

static const char *const reg_names[LITMUS_NREG] = {"EAX", "EBX", "ECX", "EDX", "ESI", "EDI"};

#define MAX_DEPTH 32 /* parentheses and ~ in the condition */

struct cursor {
    const char *file, *s;
    size_t n, pos;
    uint32_t line, col;
    struct orr_diag *d;
    bool bFailed;
    bool bExpectSeen, bObservedGiven;
    struct orr_mark expectMark;
    struct litmus_test *t;
};

/* ---- cursor --------------------------------------------------------------- */

static int peek_at(const struct cursor *c, size_t k)
{
    return c->pos + k < c->n ? (unsigned char)c->s[c->pos + k] : -1;
}
static int peek(const struct cursor *c) { return peek_at(c, 0); }

static void advance(struct cursor *c)
{
    if (c->pos >= c->n)
        return;
    if (c->s[c->pos++] == '\n')
        c->line++, c->col = 1;
    else
        c->col++;
}

static bool fail_at(struct cursor *c, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool fail_at(struct cursor *c, uint32_t line, uint32_t col, const char *fmt, ...)
{
    if (c->bFailed)
        return false;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    struct orr_mark m = {c->file, line, col};
    orr_diag_error(c->d, &m, NULL, "%s", text);
    c->bFailed = true;
    return false;
}
#define FAIL(c, ...) fail_at((c), (c)->line, (c)->col, __VA_ARGS__)

static bool is_alpha(int ch) { return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_'; }
static bool is_digit(int ch) { return ch >= '0' && ch <= '9'; }
static bool is_alnum(int ch) { return is_alpha(ch) || is_digit(ch); }

/* What is at the cursor, for "got ..." in messages. */
static const char *got(const struct cursor *c, char *buf, size_t n)
{
    int ch = peek(c);
    if (ch < 0)
        return "end of file";
    if (ch == '\n' || ch == '\r')
        return "end of line";
    if (ch < ' ' || ch > '~') {
        snprintf(buf, n, "byte 0x%02x", (unsigned)ch);
        return buf;
    }
    size_t k = 1;
    if (is_alnum(ch))
        while (k < 16 && is_alnum(peek_at(c, k)))
            k++;
    snprintf(buf, n, "'%.*s'", (int)k, c->s + c->pos);
    return buf;
}

static bool expected(struct cursor *c, const char *what)
{
    char buf[32];
    return FAIL(c, "expected %s, got %s", what, got(c, buf, sizeof buf));
}

/* ---- comments and the orrery expectation ---------------------------------- */

static bool word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && memcmp(s, w, n) == 0;
}

/* One key=value of the expectation; the cursor is on the key. */
static bool expect_pair(struct cursor *c, size_t end)
{
    uint32_t line = c->line, col = c->col;
    size_t k0 = c->pos;
    while (c->pos < end && is_alnum(peek(c)))
        advance(c);
    size_t k1 = c->pos;
    if (c->pos >= end || peek(c) != '=')
        return expected(c, "'=' in an orrery key=value (tso=allowed|forbidden, "
                           "observed=required|optional|never)");
    advance(c);
    size_t v0 = c->pos;
    while (c->pos < end && is_alnum(peek(c)))
        advance(c);
    const char *k = c->s + k0, *v = c->s + v0;
    size_t nk = k1 - k0, nv = c->pos - v0;
    struct litmus_test *t = c->t;
    if (word_is(k, nk, "tso") && (word_is(v, nv, "allowed") || word_is(v, nv, "forbidden")))
        t->tso = word_is(v, nv, "allowed") ? LITMUS_TSO_ALLOWED : LITMUS_TSO_FORBIDDEN;
    else if (word_is(k, nk, "observed") && word_is(v, nv, "required"))
        t->observed = LITMUS_OBS_REQUIRED, c->bObservedGiven = true;
    else if (word_is(k, nk, "observed") && word_is(v, nv, "optional"))
        t->observed = LITMUS_OBS_OPTIONAL, c->bObservedGiven = true;
    else if (word_is(k, nk, "observed") && word_is(v, nv, "never"))
        t->observed = LITMUS_OBS_NEVER, c->bObservedGiven = true;
    else
        return fail_at(c, line, col,
                       "expected tso=allowed, tso=forbidden, observed=required, "
                       "observed=optional or observed=never, got '%.*s'",
                       (int)(c->pos - k0), k);
    return true;
}

/* The body of (* orrery: ... *), from just after "orrery:" to end. */
static bool parse_expectation(struct cursor *c, size_t end, uint32_t line, uint32_t col)
{
    if (c->bExpectSeen)
        return fail_at(c, line, col, "a second orrery expectation comment (one per test)");
    c->bExpectSeen = true;
    c->expectMark = (struct orr_mark){c->file, line, col};
    c->t->expectLine = line, c->t->expectCol = col;
    for (;;) {
        while (c->pos < end && (peek(c) == ' ' || peek(c) == '\t' || peek(c) == '\n' ||
                                peek(c) == '\r'))
            advance(c);
        if (c->pos >= end)
            break;
        if (!expect_pair(c, end))
            return false;
    }
    if (c->t->tso == LITMUS_TSO_UNSTATED)
        return fail_at(c, line, col, "the orrery comment needs tso=allowed or tso=forbidden");
    return true;
}

/* Index of the "*)" closing the comment at the cursor (they nest), or
 * SIZE_MAX if it never closes. */
static size_t comment_end(const struct cursor *c)
{
    unsigned depth = 0;
    for (size_t k = c->pos; k + 1 < c->n; k++) {
        if (c->s[k] == '(' && c->s[k + 1] == '*')
            depth++, k++;
        else if (c->s[k] == '*' && c->s[k + 1] == ')') {
            if (--depth == 0)
                return k;
            k++;
        }
    }
    return SIZE_MAX;
}

/* Skip a comment (the cursor is on its "(*"), reading the orrery
 * expectation if that is what it holds. */
static bool skip_comment(struct cursor *c)
{
    uint32_t line = c->line, col = c->col;
    size_t end = comment_end(c);
    if (end == SIZE_MAX)
        return fail_at(c, line, col, "unterminated comment: expected '*)'");
    advance(c), advance(c);
    while (c->pos < end && (peek(c) == ' ' || peek(c) == '\t'))
        advance(c);
    if (end - c->pos >= 7 && memcmp(c->s + c->pos, "orrery:", 7) == 0) {
        for (int k = 0; k < 7; k++)
            advance(c);
        if (!parse_expectation(c, end, line, col))
            return false;
    }
    while (c->pos < end + 2)
        advance(c);
    return true;
}

/* Whitespace and comments; newlines too unless bLine. */
static bool skip_space(struct cursor *c, bool bLine)
{
    for (;;) {
        int ch = peek(c);
        if (ch == ' ' || ch == '\t' || ch == '\r' || (ch == '\n' && !bLine))
            advance(c);
        else if (ch == '(' && peek_at(c, 1) == '*') {
            if (!skip_comment(c))
                return false;
        } else
            return !c->bFailed;
    }
}

/* ---- tokens --------------------------------------------------------------- */

static bool eat(struct cursor *c, int ch)
{
    if (!skip_space(c, false) || peek(c) != ch)
        return false;
    advance(c);
    return true;
}

static bool need(struct cursor *c, int ch, const char *what)
{
    return eat(c, ch) || (!c->bFailed && expected(c, what));
}

/* An identifier [A-Za-z_][A-Za-z0-9_]* into buf; false (no message) if none. */
static bool ident(struct cursor *c, char *buf, size_t n)
{
    if (!skip_space(c, false) || !is_alpha(peek(c)))
        return false;
    uint32_t line = c->line, col = c->col;
    size_t k = 0;
    while (is_alnum(peek(c))) {
        if (k + 1 >= n)
            return fail_at(c, line, col, "name too long (at most %zu characters)", n - 1);
        buf[k++] = (char)peek(c);
        advance(c);
    }
    buf[k] = '\0';
    return true;
}

/* A 32-bit value: decimal, optionally negative, or 0x hex. */
static bool number(struct cursor *c, uint32_t *out)
{
    if (!skip_space(c, false))
        return false;
    uint32_t line = c->line, col = c->col;
    bool neg = peek(c) == '-';
    if (neg)
        advance(c);
    unsigned radix = peek(c) == '0' && (peek_at(c, 1) == 'x' || peek_at(c, 1) == 'X') ? 16 : 10;
    if (radix == 16)
        advance(c), advance(c);
    uint64_t v = 0;
    unsigned nDigit = 0;
    for (;; nDigit++) {
        int ch = peek(c), dv = is_digit(ch) ? ch - '0'
                               : radix == 16 && ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                               : radix == 16 && ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                                                      : -1;
        if (dv < 0)
            break;
        if (v <= UINT32_MAX)
            v = v * radix + (unsigned)dv;
        advance(c);
    }
    if (nDigit == 0)
        return fail_at(c, line, col, "expected a number, got %s",
                       got(c, (char[32]){0}, 32));
    if (v > (neg ? (uint64_t)INT32_MAX + 1 : UINT32_MAX))
        return fail_at(c, line, col, "value out of 32-bit range");
    *out = neg ? (uint32_t)(0 - v) : (uint32_t)v;
    return true;
}

static int reg_index(const char *name)
{
    for (int r = 0; r < LITMUS_NREG; r++) {
        const char *a = reg_names[r], *b = name;
        while (*a && (*b == *a || *b == *a + ('a' - 'A')))
            a++, b++;
        if (!*a && !*b)
            return r;
    }
    return -1;
}

static bool same_word(const char *a, const char *upper)
{
    for (; *upper; a++, upper++)
        if (*a != *upper && *a != *upper + ('a' - 'A'))
            return false;
    return !*a;
}

/* Location index by name, adding it if new. */
static int loc_index(struct cursor *c, const char *name, uint32_t line, uint32_t col)
{
    struct litmus_test *t = c->t;
    for (unsigned i = 0; i < t->nLoc; i++)
        if (strcmp(t->aLoc[i].name, name) == 0)
            return (int)i;
    if (reg_index(name) >= 0)
        return fail_at(c, line, col, "'%s' is a register, not a memory location", name), -1;
    if (t->nLoc == LITMUS_MAX_LOCS)
        return fail_at(c, line, col, "too many locations (at most %d)", LITMUS_MAX_LOCS), -1;
    snprintf(t->aLoc[t->nLoc].name, LITMUS_NAME_MAX, "%s", name);
    return (int)t->nLoc++;
}

/* "N:REG" after the cursor is on the digits. */
static bool thread_reg(struct cursor *c, unsigned *tid, unsigned *reg)
{
    uint32_t line = c->line, col = c->col;
    uint32_t n;
    if (!number(c, &n))
        return false;
    if (n >= LITMUS_MAX_THREADS)
        return fail_at(c, line, col, "thread %u out of range (at most %d threads)", n,
                       LITMUS_MAX_THREADS);
    if (!need(c, ':', "':' after the thread number (as in 0:EAX)"))
        return false;
    char name[LITMUS_NAME_MAX];
    skip_space(c, false);
    uint32_t rl = c->line, rc = c->col;
    if (!ident(c, name, sizeof name))
        return !c->bFailed && expected(c, "a register (EAX, EBX, ECX, EDX, ESI, EDI)");
    int r = reg_index(name);
    if (r < 0)
        return fail_at(c, rl, rc, "expected a register (EAX, EBX, ECX, EDX, ESI, EDI), got '%s'",
                       name);
    *tid = n, *reg = (unsigned)r;
    return true;
}

/* ---- header, initial state, thread table ---------------------------------- */

static bool parse_header(struct cursor *c)
{
    char arch[16];
    if (!skip_space(c, false))
        return false;
    uint32_t line = c->line, col = c->col;
    if (!is_alpha(peek(c)))
        return expected(c, "'X86' and the test name");
    if (!ident(c, arch, sizeof arch))
        return false;
    if (!same_word(arch, "X86"))
        return fail_at(c, line, col, "expected 'X86' and the test name, got '%s' (only x86 "
                                     "tests are supported)",
                       arch);
    if (!skip_space(c, true))
        return false;
    size_t k = 0;
    while (peek(c) > ' ' && peek(c) <= '~') {
        if (k + 1 >= LITMUS_NAME_MAX)
            return FAIL(c, "test name too long (at most %d characters)", LITMUS_NAME_MAX - 1);
        c->t->name[k++] = (char)peek(c);
        advance(c);
    }
    c->t->name[k] = '\0';
    if (k == 0)
        return expected(c, "the test name after X86");
    if (!skip_space(c, true))
        return false;
    if (peek(c) >= 0 && peek(c) != '\n')
        return expected(c, "the end of the line after the test name");
    return true;
}

/* Optional "doc" line and Key=value lines (diy's Com=, Orig=, Cycle=). */
static bool parse_preamble(struct cursor *c)
{
    if (!skip_space(c, false))
        return false;
    if (peek(c) == '"') {
        advance(c);
        size_t k = 0;
        while (peek(c) != '"') {
            int ch = peek(c);
            if (ch < 0 || ch == '\n')
                return expected(c, "'\"' closing the doc string");
            if (k + 1 >= LITMUS_DOC_MAX)
                return FAIL(c, "doc string too long (at most %d characters)", LITMUS_DOC_MAX - 1);
            c->t->doc[k++] = (char)ch;
            advance(c);
        }
        advance(c);
    }
    for (;;) {
        if (!skip_space(c, false))
            return false;
        if (!is_alpha(peek(c)))
            return true;
        size_t k = 0; /* a Key=value line, or something that is not one */
        while (is_alnum(peek_at(c, k)))
            k++;
        while (peek_at(c, k) == ' ' || peek_at(c, k) == '\t')
            k++;
        if (peek_at(c, k) != '=')
            return expected(c, "'{' starting the initial state");
        while (peek(c) >= 0 && peek(c) != '\n')
            advance(c);
    }
}

/* One "x=v" or "N:REG=v" of the initial state. */
static bool init_item(struct cursor *c, bool *aLocInit)
{
    struct litmus_test *t = c->t;
    uint32_t line = c->line, col = c->col;
    if (is_digit(peek(c))) {
        unsigned tid, reg;
        uint32_t v;
        if (!thread_reg(c, &tid, &reg) || !need(c, '=', "'=' and the register's initial value") ||
            !number(c, &v))
            return false;
        t->aThread[tid].aInit[reg] = v;
        t->aThread[tid].initMask |= (uint8_t)(1u << reg);
        if (tid + 1 > t->nThread) /* checked against the table later */
            t->nThread = tid + 1;
        return true;
    }
    char name[LITMUS_NAME_MAX];
    if (!ident(c, name, sizeof name))
        return !c->bFailed && expected(c, "a location (x=0) or register (0:EAX=0) in the "
                                          "initial state");
    int loc = loc_index(c, name, line, col);
    uint32_t v;
    if (loc < 0 || !need(c, '=', "'=' and the location's initial value") || !number(c, &v))
        return false;
    if (aLocInit[loc])
        return fail_at(c, line, col, "'%s' is initialised twice", name);
    aLocInit[loc] = true;
    t->aLoc[loc].init = v;
    return true;
}

static bool parse_init(struct cursor *c)
{
    bool aLocInit[LITMUS_MAX_LOCS] = {false};
    if (!need(c, '{', "'{' starting the initial state"))
        return false;
    for (;;) {
        if (eat(c, '}'))
            return true;
        if (c->bFailed || !init_item(c, aLocInit))
            return false;
        if (eat(c, '}'))
            return true;
        if (!need(c, ';', "';' or '}' after an initial value"))
            return false;
    }
}

/* " P0 | P1 | ... ;" */
static bool parse_columns(struct cursor *c, unsigned nInitThread, struct orr_mark initMark)
{
    unsigned n = 0;
    if (!skip_space(c, false))
        return false;
    c->t->tableLine = c->line, c->t->tableCol = c->col;
    for (;;) {
        if (!skip_space(c, false))
            return false;
        char want[8];
        snprintf(want, sizeof want, "P%u", n);
        if (peek(c) != 'P' || !is_digit(peek_at(c, 1)))
            return expected(c, n == 0 ? "the thread table header ' P0 | P1 ... ;'"
                                      : "the next thread name in the table header");
        uint32_t line = c->line, col = c->col;
        char name[16];
        if (!ident(c, name, sizeof name))
            return false;
        if (strcmp(name, want) != 0)
            return fail_at(c, line, col, "expected %s, got '%s' (threads are P0, P1, ... in order)",
                           want, name);
        if (++n > LITMUS_MAX_THREADS)
            return fail_at(c, line, col, "too many threads (at most %d)", LITMUS_MAX_THREADS);
        if (eat(c, ';'))
            break;
        if (!need(c, '|', "'|' or ';' after a thread name"))
            return false;
    }
    if (nInitThread > n)
        return fail_at(c, initMark.line, initMark.col,
                       "the initial state names thread %u, but the table has %u", nInitThread - 1,
                       n);
    c->t->nThread = n;
    return true;
}

/* ---- instructions ---------------------------------------------------------- */

enum opnd_kind { OPND_MEM, OPND_IMM, OPND_REG };
struct operand {
    enum opnd_kind kind;
    unsigned v; /* loc or reg */
    uint32_t imm;
    uint32_t line, col;
};

static bool operand(struct cursor *c, struct operand *o)
{
    if (!skip_space(c, false))
        return false;
    o->line = c->line, o->col = c->col;
    char name[LITMUS_NAME_MAX];
    if (eat(c, '$')) {
        o->kind = OPND_IMM;
        return number(c, &o->imm);
    }
    if (eat(c, '[')) {
        skip_space(c, false);
        uint32_t line = c->line, col = c->col;
        if (!ident(c, name, sizeof name))
            return !c->bFailed && expected(c, "a location name inside [ ]");
        if (reg_index(name) >= 0)
            return fail_at(c, line, col, "indirect addressing ([%s]) is not supported; name a "
                                         "location",
                           name);
        int loc = loc_index(c, name, line, col);
        o->kind = OPND_MEM, o->v = (unsigned)loc;
        return loc >= 0 && need(c, ']', "']' after the location");
    }
    if (!ident(c, name, sizeof name))
        return !c->bFailed && expected(c, "an operand: [location], $value or a register");
    int r = reg_index(name);
    if (r < 0)
        return fail_at(c, o->line, o->col,
                       "expected an operand: [location], $value or a register (EAX, EBX, ECX, "
                       "EDX, ESI, EDI), got '%s'",
                       name);
    o->kind = OPND_REG, o->v = (unsigned)r;
    return true;
}

static bool two_operands(struct cursor *c, struct operand *a, struct operand *b)
{
    return operand(c, a) && need(c, ',', "',' between operands") && operand(c, b);
}

/* MOV in its five forms. */
static bool insn_mov(struct cursor *c, struct litmus_insn *in)
{
    struct operand a, b;
    if (!two_operands(c, &a, &b))
        return false;
    if (a.kind == OPND_IMM)
        return fail_at(c, a.line, a.col, "MOV's destination must be a register or [location]");
    if (a.kind == OPND_MEM && b.kind == OPND_MEM)
        return fail_at(c, b.line, b.col, "x86 has no memory-to-memory MOV: expected a register "
                                         "or $value");
    in->bSrcReg = b.kind == OPND_REG;
    in->src = (uint8_t)(b.kind == OPND_REG ? b.v : 0);
    in->imm = b.imm;
    if (a.kind == OPND_MEM) {
        in->kind = LITMUS_STORE, in->loc = (uint8_t)a.v;
    } else if (b.kind == OPND_MEM) {
        in->kind = LITMUS_LOAD, in->reg = (uint8_t)a.v, in->loc = (uint8_t)b.v;
    } else {
        in->kind = LITMUS_MOV, in->reg = (uint8_t)a.v;
    }
    return true;
}

/* [x],REG (or REG,[x] when bEither). */
static bool insn_mem_reg(struct cursor *c, struct litmus_insn *in, bool bEither, const char *what)
{
    struct operand a, b;
    if (!two_operands(c, &a, &b))
        return false;
    if (bEither && a.kind == OPND_REG && b.kind == OPND_MEM) {
        struct operand t = a;
        a = b, b = t;
    }
    if (a.kind != OPND_MEM)
        return fail_at(c, a.line, a.col, "%s: expected [location] as the first operand", what);
    if (b.kind != OPND_REG)
        return fail_at(c, b.line, b.col, "%s: expected a register as the second operand", what);
    in->loc = (uint8_t)a.v, in->reg = (uint8_t)b.v;
    return true;
}

/* LOCK ADD [x],$v|REG and LOCK INC [x]. */
static bool insn_add(struct cursor *c, struct litmus_insn *in, bool bInc)
{
    struct operand a, b = {.kind = OPND_IMM, .imm = 1};
    if (!operand(c, &a) || (!bInc && (!need(c, ',', "',' between operands") || !operand(c, &b))))
        return false;
    if (a.kind != OPND_MEM)
        return fail_at(c, a.line, a.col, "LOCK %s: expected [location]", bInc ? "INC" : "ADD");
    if (b.kind == OPND_MEM)
        return fail_at(c, b.line, b.col, "LOCK ADD: expected $value or a register");
    in->kind = LITMUS_ADD, in->loc = (uint8_t)a.v;
    in->bSrcReg = b.kind == OPND_REG, in->src = (uint8_t)b.v, in->imm = b.imm;
    return true;
}

static bool insn_locked(struct cursor *c, struct litmus_insn *in)
{
    skip_space(c, false);
    uint32_t line = c->line, col = c->col;
    char m[16];
    if (!ident(c, m, sizeof m))
        return !c->bFailed && expected(c, "XADD, CMPXCHG, XCHG, ADD or INC after LOCK");
    if (same_word(m, "XADD"))
        return in->kind = LITMUS_XADD, insn_mem_reg(c, in, false, "LOCK XADD");
    if (same_word(m, "CMPXCHG"))
        return in->kind = LITMUS_CMPXCHG, insn_mem_reg(c, in, false, "LOCK CMPXCHG");
    if (same_word(m, "XCHG"))
        return in->kind = LITMUS_XCHG, insn_mem_reg(c, in, true, "XCHG");
    if (same_word(m, "ADD") || same_word(m, "INC"))
        return insn_add(c, in, same_word(m, "INC"));
    return fail_at(c, line, col, "expected XADD, CMPXCHG, XCHG, ADD or INC after LOCK, got '%s'",
                   m);
}

static bool instruction(struct cursor *c, struct litmus_thread *th)
{
    uint32_t line = c->line, col = c->col;
    char m[16];
    if (!ident(c, m, sizeof m))
        return !c->bFailed && expected(c, "an instruction (MOV, MFENCE, XCHG, LOCK ...) or '|'");
    if (th->nInsn == LITMUS_MAX_INSNS)
        return fail_at(c, line, col, "too many instructions in one thread (at most %d)",
                       LITMUS_MAX_INSNS);
    struct litmus_insn *in = &th->aInsn[th->nInsn];
    memset(in, 0, sizeof *in);
    in->line = line;
    bool ok;
    if (same_word(m, "MOV"))
        ok = insn_mov(c, in);
    else if (same_word(m, "MFENCE"))
        ok = (in->kind = LITMUS_MFENCE, true);
    else if (same_word(m, "XCHG"))
        ok = (in->kind = LITMUS_XCHG, insn_mem_reg(c, in, true, "XCHG"));
    else if (same_word(m, "LOCK"))
        ok = insn_locked(c, in);
    else
        return fail_at(c, line, col,
                       "expected an instruction (MOV, MFENCE, XCHG, LOCK XADD, LOCK CMPXCHG, "
                       "LOCK ADD, LOCK INC), got '%s'",
                       m);
    th->nInsn += ok;
    return ok;
}

static bool at_condition(struct cursor *c)
{
    if (peek(c) == '~')
        return true;
    static const char *const kw[] = {"exists", "forall"};
    for (unsigned k = 0; k < 2; k++) {
        size_t n = strlen(kw[k]);
        if (c->n - c->pos >= n && memcmp(c->s + c->pos, kw[k], n) == 0 &&
            !is_alnum(peek_at(c, n)))
            return true;
    }
    return false;
}

/* Rows of cells until the condition. */
static bool parse_rows(struct cursor *c)
{
    struct litmus_test *t = c->t;
    for (;;) {
        if (!skip_space(c, false))
            return false;
        if (peek(c) < 0)
            return expected(c, "an instruction row or the final condition (exists, ~exists, "
                               "forall)");
        if (at_condition(c))
            return true;
        for (unsigned k = 0; k < t->nThread; k++) {
            if (!skip_space(c, false))
                return false;
            if (peek(c) != '|' && peek(c) != ';' && !instruction(c, &t->aThread[k]))
                return false;
            bool last = k + 1 == t->nThread;
            if (!skip_space(c, false))
                return false;
            if (last && peek(c) == '|')
                return FAIL(c, "this row has more cells than the %u threads of the table",
                            t->nThread);
            if (!last && peek(c) == ';')
                return FAIL(c, "this row has %u cells, but the table has %u threads", k + 1,
                            t->nThread);
            if (!need(c, last ? ';' : '|',
                      last ? "';' at the end of the row" : "'|' between thread columns"))
                return false;
        }
    }
}

/* ---- the final condition --------------------------------------------------- */

static int new_node(struct cursor *c, enum litmus_cond_kind kind)
{
    struct litmus_test *t = c->t;
    if (t->nCond == LITMUS_MAX_COND)
        return FAIL(c, "condition too long (at most %d terms and operators)", LITMUS_MAX_COND), -1;
    memset(&t->aCond[t->nCond], 0, sizeof t->aCond[0]);
    t->aCond[t->nCond].kind = (uint8_t)kind;
    return (int)t->nCond++;
}

static int cond_or(struct cursor *c, unsigned depth);

/* Whether register reg of a thread has a value the test gives it: an
 * instruction writes it, or the initial state sets it. */
static bool reg_written(const struct litmus_thread *th, unsigned reg)
{
    if (th->initMask & (1u << reg))
        return true;
    for (unsigned i = 0; i < th->nInsn; i++) {
        const struct litmus_insn *in = &th->aInsn[i];
        unsigned dst = in->kind == LITMUS_CMPXCHG ? LITMUS_EAX : in->reg;
        bool writes = in->kind == LITMUS_LOAD || in->kind == LITMUS_MOV ||
                      in->kind == LITMUS_XCHG || in->kind == LITMUS_XADD ||
                      in->kind == LITMUS_CMPXCHG;
        if (writes && dst == reg)
            return true;
    }
    return false;
}

/* N:REG=v, x=v, [x]=v, true, false */
static int cond_term(struct cursor *c)
{
    uint32_t line = c->line, col = c->col;
    if (is_digit(peek(c))) {
        unsigned tid, reg;
        uint32_t v;
        if (!thread_reg(c, &tid, &reg) || !need(c, '=', "'=' and a value") || !number(c, &v))
            return -1;
        if (tid >= c->t->nThread)
            return fail_at(c, line, col, "thread %u is not in the table (threads 0..%u)", tid,
                           c->t->nThread - 1), -1;
        if (!reg_written(&c->t->aThread[tid], reg))
            return fail_at(c, line, col,
                           "the condition reads %u:%s, but thread %u never writes %s and the "
                           "initial state does not set it", tid, reg_names[reg], tid,
                           reg_names[reg]), -1;
        int k = new_node(c, LITMUS_C_REG);
        if (k >= 0)
            c->t->aCond[k].thread = (uint8_t)tid, c->t->aCond[k].reg = (uint8_t)reg,
            c->t->aCond[k].value = v;
        return k;
    }
    bool br = eat(c, '[');
    char name[LITMUS_NAME_MAX];
    skip_space(c, false);
    line = c->line, col = c->col;
    if (!ident(c, name, sizeof name)) {
        if (!c->bFailed)
            expected(c, "a term (0:EAX=1, x=1), '(', '~', true or false");
        return -1;
    }
    if (!br && (strcmp(name, "true") == 0 || strcmp(name, "false") == 0))
        return new_node(c, name[0] == 't' ? LITMUS_C_TRUE : LITMUS_C_FALSE);
    int loc = loc_index(c, name, line, col);
    uint32_t v;
    if (loc < 0 || (br && !need(c, ']', "']' after the location")) ||
        !need(c, '=', "'=' and a value") || !number(c, &v))
        return -1;
    int k = new_node(c, LITMUS_C_LOC);
    if (k >= 0)
        c->t->aCond[k].loc = (uint8_t)loc, c->t->aCond[k].value = v;
    return k;
}

static int cond_not(struct cursor *c, unsigned depth)
{
    if (!skip_space(c, false))
        return -1;
    if (depth > MAX_DEPTH)
        return FAIL(c, "condition nested too deeply (at most %d levels)", MAX_DEPTH), -1;
    if (eat(c, '~')) {
        int a = cond_not(c, depth + 1), k = a < 0 ? -1 : new_node(c, LITMUS_C_NOT);
        if (k >= 0)
            c->t->aCond[k].a = (uint8_t)a;
        return k;
    }
    if (eat(c, '(')) {
        int k = cond_or(c, depth + 1);
        return k >= 0 && need(c, ')', "')' or a connective (/\\, \\/)") ? k : -1;
    }
    return cond_term(c);
}

/* "/\" (and) or "\/" (or) at the cursor? */
static bool eat_connective(struct cursor *c, bool bAnd)
{
    if (!skip_space(c, false))
        return false;
    if (peek(c) != (bAnd ? '/' : '\\') || peek_at(c, 1) != (bAnd ? '\\' : '/'))
        return false;
    advance(c), advance(c);
    return true;
}

static int cond_binary(struct cursor *c, unsigned depth, bool bAnd)
{
    int a = bAnd ? cond_not(c, depth) : cond_binary(c, depth, true);
    while (a >= 0 && eat_connective(c, bAnd)) {
        int b = bAnd ? cond_not(c, depth) : cond_binary(c, depth, true);
        int k = b < 0 ? -1 : new_node(c, bAnd ? LITMUS_C_AND : LITMUS_C_OR);
        if (k >= 0)
            c->t->aCond[k].a = (uint8_t)a, c->t->aCond[k].b = (uint8_t)b;
        a = k;
    }
    return a;
}

static int cond_or(struct cursor *c, unsigned depth) { return cond_binary(c, depth, false); }

static bool parse_condition(struct cursor *c)
{
    struct litmus_test *t = c->t;
    char kw[16] = "";
    bool neg = eat(c, '~');
    if (!skip_space(c, false))
        return false;
    uint32_t line = c->line, col = c->col;
    if (!ident(c, kw, sizeof kw))
        return !c->bFailed && expected(c, neg ? "'exists' after '~'"
                                              : "the final condition (exists, ~exists, forall)");
    if (strcmp(kw, "exists") != 0 && (neg || strcmp(kw, "forall") != 0))
        return fail_at(c, line, col, "expected %s, got '%s'",
                       neg ? "'exists' after '~'" : "the final condition (exists, ~exists, forall)",
                       kw);
    t->quant = kw[0] == 'f' ? LITMUS_FORALL : neg ? LITMUS_NOT_EXISTS : LITMUS_EXISTS;
    int root = cond_or(c, 0);
    if (root < 0)
        return false;
    t->root = (unsigned)root;
    if (!skip_space(c, false))
        return false;
    return peek(c) < 0 || expected(c, "the end of the file after the condition");
}

/* ---- after parsing: name order and addresses ------------------------------- */

static void remap_locs(struct litmus_test *t, const uint8_t *aNew)
{
    for (unsigned th = 0; th < t->nThread; th++)
        for (unsigned i = 0; i < t->aThread[th].nInsn; i++) {
            struct litmus_insn *in = &t->aThread[th].aInsn[i];
            if (in->kind != LITMUS_MOV && in->kind != LITMUS_MFENCE)
                in->loc = aNew[in->loc];
        }
    for (unsigned k = 0; k < t->nCond; k++)
        if (t->aCond[k].kind == LITMUS_C_LOC)
            t->aCond[k].loc = aNew[t->aCond[k].loc];
}

static void sort_locations(struct litmus_test *t, uint64_t base)
{
    uint8_t aOrder[LITMUS_MAX_LOCS], aNew[LITMUS_MAX_LOCS];
    for (unsigned i = 0; i < t->nLoc; i++) {
        unsigned k = i; /* insertion sort of indices by name */
        while (k > 0 && strcmp(t->aLoc[aOrder[k - 1]].name, t->aLoc[i].name) > 0) {
            aOrder[k] = aOrder[k - 1];
            k--;
        }
        aOrder[k] = (uint8_t)i;
    }
    struct litmus_loc aSorted[LITMUS_MAX_LOCS];
    for (unsigned k = 0; k < t->nLoc; k++) {
        aSorted[k] = t->aLoc[aOrder[k]];
        aSorted[k].addr = base + (uint64_t)k * ORR_LINE_BYTES;
        aNew[aOrder[k]] = (uint8_t)k;
    }
    memcpy(t->aLoc, aSorted, t->nLoc * sizeof aSorted[0]);
    remap_locs(t, aNew);
}

static bool check_expectation(struct cursor *c)
{
    struct litmus_test *t = c->t;
    if (!c->bExpectSeen) {
        t->observed = LITMUS_OBS_OPTIONAL;
        return true;
    }
    if (!c->bObservedGiven)
        t->observed = t->tso == LITMUS_TSO_FORBIDDEN ? LITMUS_OBS_NEVER : LITMUS_OBS_OPTIONAL;
    if (t->tso == LITMUS_TSO_FORBIDDEN && t->observed != LITMUS_OBS_NEVER)
        return fail_at(c, c->expectMark.line, c->expectMark.col,
                       "tso=forbidden means the outcome is never observed: use observed=never "
                       "or leave observed out");
    if (t->tso == LITMUS_TSO_ALLOWED && t->observed == LITMUS_OBS_NEVER)
        return fail_at(c, c->expectMark.line, c->expectMark.col,
                       "tso=allowed with observed=never contradicts itself: use required or "
                       "optional");
    return true;
}

int litmus_parse(struct litmus_test *t, const char *file, const char *text, size_t len,
                 uint64_t base, struct orr_diag *d)
{
    memset(t, 0, sizeof *t);
    struct cursor c = {.file = file, .s = text, .n = len, .line = 1, .col = 1, .d = d, .t = t};
    if (base % ORR_LINE_BYTES || base > ORR_MEM_ADDR_MASK - LITMUS_MAX_LOCS * ORR_LINE_BYTES) {
        struct orr_mark m = {file, 0, 0};
        orr_diag_error(d, &m, NULL, "litmus base address must be a multiple of 64 below 2^48");
        return ORR_EPARSE;
    }
    struct orr_mark initMark = {file, 0, 0};
    bool ok = parse_header(&c) && parse_preamble(&c);
    if (ok) {
        skip_space(&c, false);
        initMark.line = c.line, initMark.col = c.col;
        ok = parse_init(&c);
    }
    unsigned nInitThread = t->nThread;
    ok = ok && parse_columns(&c, nInitThread, initMark) && parse_rows(&c) &&
         parse_condition(&c) && check_expectation(&c);
    if (!ok || c.bFailed) {
        if (!c.bFailed) /* a path that failed without a message would be a bug */
            fail_at(&c, c.line, c.col, "malformed litmus test");
        return ORR_EPARSE;
    }
    sort_locations(t, base);
    return 0;
}

int litmus_load(struct litmus_test *t, const char *path, uint64_t base, struct orr_diag *d)
{
    memset(t, 0, sizeof *t);
    struct orr_mark m = {path, 0, 0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        orr_diag_error(d, &m, NULL, "cannot open the litmus test");
        return ORR_EIO;
    }
    char *buf = malloc(LITMUS_MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, LITMUS_MAX_FILE + 1, f) : 0;
    bool bad = !buf || ferror(f);
    fclose(f);
    int rc;
    if (bad) {
        orr_diag_error(d, &m, NULL, "cannot read the litmus test");
        rc = ORR_EIO;
    } else if (n > LITMUS_MAX_FILE) {
        orr_diag_error(d, &m, NULL, "litmus test larger than %u bytes", LITMUS_MAX_FILE);
        rc = ORR_EPARSE;
    } else {
        rc = litmus_parse(t, path, buf, n, base, d);
    }
    free(buf);
    return rc;
}

/* ---- the thread interpreter ------------------------------------------------ */

void litmus_thread_init(struct litmus_thread_state *s, const struct litmus_test *t, unsigned tid)
{
    memset(s, 0, sizeof *s);
    s->t = t;
    s->tid = tid;
    for (unsigned r = 0; r < LITMUS_NREG; r++)
        s->aReg[r] = t->aThread[tid].aInit[r];
}

static uint64_t src_value(const struct litmus_thread_state *s, const struct litmus_insn *in)
{
    return in->bSrcReg ? s->aReg[in->src] : in->imm;
}

/* Operation kind per instruction (MOV has none). */
static const uint8_t insn_op[] = {
    [LITMUS_STORE] = ORR_OP_STORE, [LITMUS_LOAD] = ORR_OP_LOAD,   [LITMUS_MOV] = 0,
    [LITMUS_MFENCE] = ORR_OP_FENCE, [LITMUS_XCHG] = ORR_OP_SWAP,  [LITMUS_XADD] = ORR_OP_FAA,
    [LITMUS_CMPXCHG] = ORR_OP_CAS,  [LITMUS_ADD] = ORR_OP_FAA,
};

enum memgen_status litmus_thread_next(struct litmus_thread_state *s, struct memop *out)
{
    if (s->bWaiting)
        return MEMGEN_WAIT;
    const struct litmus_thread *th = &s->t->aThread[s->tid];
    while (s->pc < th->nInsn && th->aInsn[s->pc].kind == LITMUS_MOV) {
        const struct litmus_insn *in = &th->aInsn[s->pc++];
        s->aReg[in->reg] = src_value(s, in) & UINT32_MAX;
    }
    if (s->pc == th->nInsn)
        return MEMGEN_DONE;
    const struct litmus_insn *in = &th->aInsn[s->pc];
    memset(out, 0, sizeof *out);
    out->op = insn_op[in->kind];
    if (in->kind == LITMUS_MFENCE) {
        s->pc++;
        return MEMGEN_OP;
    }
    out->size = 4;
    out->addr = s->t->aLoc[in->loc].addr;
    switch (in->kind) {
    case LITMUS_STORE:
    case LITMUS_ADD:
        out->val = src_value(s, in) & UINT32_MAX;
        break;
    case LITMUS_CMPXCHG:
        out->expect = s->aReg[LITMUS_EAX] & UINT32_MAX;
        /* fall through */
    case LITMUS_XCHG:
    case LITMUS_XADD:
        out->val = s->aReg[in->reg] & UINT32_MAX;
        break;
    default:
        break;
    }
    if (in->kind == LITMUS_STORE)
        s->pc++;
    else
        s->bWaiting = true; /* pc moves on when the value arrives */
    return MEMGEN_OP;
}

void litmus_thread_result(struct litmus_thread_state *s, uint64_t value)
{
    if (!s->bWaiting)
        return;
    const struct litmus_insn *in = &s->t->aThread[s->tid].aInsn[s->pc];
    value &= UINT32_MAX;
    if (in->kind == LITMUS_LOAD || in->kind == LITMUS_XCHG || in->kind == LITMUS_XADD)
        s->aReg[in->reg] = value;
    else if (in->kind == LITMUS_CMPXCHG)
        s->aReg[LITMUS_EAX] = value;
    s->bWaiting = false;
    s->pc++;
}

/* ---- condition, outcome, expectation --------------------------------------- */

static bool eval_node(const struct litmus_test *t, unsigned k, const uint64_t *aReg,
                      litmus_mem_fn mem, void *ctx)
{
    const struct litmus_cond *n = &t->aCond[k];
    switch (n->kind) {
    case LITMUS_C_TRUE:
        return true;
    case LITMUS_C_FALSE:
        return false;
    case LITMUS_C_REG:
        return (uint32_t)aReg[n->thread * LITMUS_NREG + n->reg] == n->value;
    case LITMUS_C_LOC:
        return (uint32_t)mem(ctx, n->loc, t->aLoc[n->loc].addr) == n->value;
    case LITMUS_C_NOT:
        return !eval_node(t, n->a, aReg, mem, ctx);
    case LITMUS_C_AND:
        return eval_node(t, n->a, aReg, mem, ctx) && eval_node(t, n->b, aReg, mem, ctx);
    default: /* LITMUS_C_OR */
        return eval_node(t, n->a, aReg, mem, ctx) || eval_node(t, n->b, aReg, mem, ctx);
    }
}

bool litmus_eval(const struct litmus_test *t, const uint64_t *aReg, litmus_mem_fn mem, void *ctx)
{
    return t->nCond == 0 || eval_node(t, t->root, aReg, mem, ctx);
}

bool litmus_witness(const struct litmus_test *t, const uint64_t *aReg, litmus_mem_fn mem,
                    void *ctx)
{
    return litmus_eval(t, aReg, mem, ctx) != (t->quant == LITMUS_FORALL);
}

size_t litmus_outcome(const struct litmus_test *t, const uint64_t *aReg, litmus_mem_fn mem,
                      void *ctx, char *buf, size_t n)
{
    bool aRegUsed[LITMUS_MAX_THREADS][LITMUS_NREG] = {{false}}, aLocUsed[LITMUS_MAX_LOCS] = {false};
    for (unsigned k = 0; k < t->nCond; k++) {
        if (t->aCond[k].kind == LITMUS_C_REG)
            aRegUsed[t->aCond[k].thread][t->aCond[k].reg] = true;
        else if (t->aCond[k].kind == LITMUS_C_LOC)
            aLocUsed[t->aCond[k].loc] = true;
    }
    size_t len = 0;
    if (n)
        buf[0] = '\0';
#define APPEND(...)                                                                         \
    len += (size_t)snprintf(len < n ? buf + len : NULL, len < n ? n - len : 0, __VA_ARGS__)
    for (unsigned th = 0; th < t->nThread; th++)
        for (unsigned r = 0; r < LITMUS_NREG; r++)
            if (aRegUsed[th][r])
                APPEND("%s%u:%s=%d;", len ? " " : "", th, reg_names[r],
                       (int)(int32_t)(uint32_t)aReg[th * LITMUS_NREG + r]);
    for (unsigned l = 0; l < t->nLoc; l++)
        if (aLocUsed[l])
            APPEND("%s%s=%d;", len ? " " : "", t->aLoc[l].name,
                   (int)(int32_t)(uint32_t)mem(ctx, l, t->aLoc[l].addr));
#undef APPEND
    return len;
}

bool litmus_expect_met(const struct litmus_test *t, uint64_t nRun, uint64_t nWitness)
{
    (void)nRun;
    if (t->tso == LITMUS_TSO_FORBIDDEN)
        return nWitness == 0;
    if (t->tso == LITMUS_TSO_ALLOWED && t->observed == LITMUS_OBS_REQUIRED)
        return nWitness > 0;
    return true;
}

const char *litmus_reg_name(unsigned reg)
{
    return reg < LITMUS_NREG ? reg_names[reg] : "?";
}
