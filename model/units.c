/* Exact unit conversion for scenario values ("3.2GHz", "0.5ns", "48KiB"):
 * table-driven parsing into integer base units and exact formatting back, so
 * that orr_unit_parse(orr_unit_format(v)) == v for every v.
 *
 * Arithmetic: a value is I.F × mult where I is the integer part, F the
 * fraction digits and mult the suffix's size in base units (≤ 8e12). I×mult
 * is done in 128 bits; F×mult is done digit by digit from the right (schoolbook
 * multiplication of a decimal string by a 43-bit integer), so any number of
 * fraction digits works without overflow, and the value is exact iff every
 * digit below the decimal point of the product is zero. */
#include "orrery/units.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "orrery/error.h"

struct unit_suffix {
    const char *name;
    uint64_t mult;   /* base units per one of this suffix */
    bool format;     /* a candidate when rendering (aliases are parse-only) */
};

/* Reasons for rejecting a value, in the form "problem; expectation" so a
 * caller can name the offending text between the two halves. */
enum unit_why {
    WHY_EMPTY,
    WHY_NO_NUMBER,
    WHY_MALFORMED,
    WHY_NEGATIVE,
    WHY_NO_UNIT,
    WHY_BAD_UNIT,
    WHY_RESOLUTION,
    WHY_OVERFLOW,
    WHY_COUNT
};

struct unit_kind_info {
    const char *name;
    const char *suffixes; /* for messages: the canonical spellings */
    const struct unit_suffix *aSuffix; /* formatting preference order first */
    size_t nSuffix;
    const char *base;     /* suffix of one base unit, the fallback format */
    const char *aWhy[WHY_COUNT];
};

#define UNIT_WHYS(noun, example, list, one, many, max)                              \
    {                                                                              \
        [WHY_EMPTY] = "empty value; expected " noun " such as " example           \
                      " (units: " list ")",                                        \
        [WHY_NO_NUMBER] = "missing number; expected " noun " such as " example    \
                          " (units: " list ")",                                    \
        [WHY_MALFORMED] = "malformed number; expected " noun " such as " example  \
                          " (units: " list ")",                                    \
        [WHY_NEGATIVE] = "negative value; expected a non-negative value (" noun   \
                         " such as " example ")",                                  \
        [WHY_NO_UNIT] = "missing unit; expected " noun " such as " example        \
                        " (units: " list ")",                                      \
        [WHY_BAD_UNIT] = "unknown unit; expected " noun " such as " example       \
                         " (units: " list "; case matters)",                      \
        [WHY_RESOLUTION] = "below the 1 " one " resolution; expected a whole "    \
                           "number of " many,                                      \
        [WHY_OVERFLOW] = "too large; the largest " noun " is " max,               \
    }

#define U64_MAX_TEXT "18446744073709551615"

static const struct unit_suffix aTimeSuffix[] = {
    {"s", 1000000000000ull, true}, {"ms", 1000000000ull, true},
    {"us", 1000000ull, true},      {"\xc2\xb5s", 1000000ull, false}, /* µ micro sign */
    {"\xce\xbcs", 1000000ull, false}, /* μ Greek mu, looks the same */
    {"ns", 1000ull, true},         {"ps", 1ull, true},
};
static const struct unit_suffix aCyclesSuffix[] = {
    {"cy", 1ull, true},
};
static const struct unit_suffix aFreqSuffix[] = {
    {"THz", 1000000000000ull, true}, {"GHz", 1000000000ull, true},
    {"MHz", 1000000ull, true},       {"kHz", 1000ull, true},
    {"Hz", 1ull, true},
};
static const struct unit_suffix aSizeSuffix[] = {
    {"TiB", 1ull << 40, true},     {"GiB", 1ull << 30, true},
    {"MiB", 1ull << 20, true},     {"KiB", 1ull << 10, true},
    {"TB", 1000000000000ull, true}, {"GB", 1000000000ull, true},
    {"MB", 1000000ull, true},      {"KB", 1000ull, true},
    {"B", 1ull, true},
};
static const struct unit_suffix aBwSuffix[] = {
    {"Tbps", 1000000000000ull, true}, {"Gbps", 1000000000ull, true},
    {"Mbps", 1000000ull, true},       {"Kbps", 1000ull, true},
    {"bps", 1ull, true},
    {"TB/s", 8000000000000ull, false}, {"GB/s", 8000000000ull, false},
    {"MB/s", 8000000ull, false},       {"KB/s", 8000ull, false},
    {"B/s", 8ull, false},              {"GiB/s", 8ull << 30, false},
    {"MiB/s", 8ull << 20, false},      {"KiB/s", 8ull << 10, false},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define TIME_LIST "ps, ns, us, ms, s"
#define CYCLES_LIST "cy"
#define FREQ_LIST "Hz, kHz, MHz, GHz, THz"
#define SIZE_LIST "B, KB, MB, GB, TB, KiB, MiB, GiB, TiB"
#define BW_LIST "bps, Kbps, Mbps, Gbps, Tbps, B/s, KB/s, MB/s, GB/s, TB/s, KiB/s, MiB/s, GiB/s"

static const struct unit_kind_info aKind[] = {
    [ORR_UNIT_TIME] = {"time", TIME_LIST, aTimeSuffix, N(aTimeSuffix), "ps",
                       UNIT_WHYS("a time", "10ns", TIME_LIST, "ps", "picoseconds",
                                 U64_MAX_TEXT "ps (about 213 days)")},
    [ORR_UNIT_CYCLES] = {"cycles", CYCLES_LIST, aCyclesSuffix, N(aCyclesSuffix), "cy",
                         UNIT_WHYS("a cycle count", "5cy", CYCLES_LIST, "cycle", "cycles",
                                   U64_MAX_TEXT "cy")},
    [ORR_UNIT_FREQ] = {"frequency", FREQ_LIST, aFreqSuffix, N(aFreqSuffix), "Hz",
                       UNIT_WHYS("a frequency", "3.2GHz", FREQ_LIST, "Hz", "Hz",
                                 U64_MAX_TEXT "Hz")},
    [ORR_UNIT_SIZE] = {"size", SIZE_LIST, aSizeSuffix, N(aSizeSuffix), "B",
                       UNIT_WHYS("a size", "48KiB", SIZE_LIST, "byte", "bytes",
                                 U64_MAX_TEXT "B (16 EiB)")},
    [ORR_UNIT_BW] = {"bandwidth", BW_LIST, aBwSuffix, N(aBwSuffix), "bps",
                     UNIT_WHYS("a bandwidth", "200Gbps", BW_LIST, "bit/s", "bit/s",
                               U64_MAX_TEXT "bps")},
};

static bool kind_ok(enum orr_unit_kind kind)
{
    return (unsigned)kind < N(aKind);
}

const char *orr_unit_kind_name(enum orr_unit_kind kind)
{
    return kind_ok(kind) ? aKind[kind].name : "unknown";
}

const char *orr_unit_kind_suffixes(enum orr_unit_kind kind)
{
    return kind_ok(kind) ? aKind[kind].suffixes : "";
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static const struct unit_suffix *find_suffix(const struct unit_kind_info *k, const char *s)
{
    for (size_t i = 0; i < k->nSuffix; i++)
        if (strcmp(k->aSuffix[i].name, s) == 0)
            return &k->aSuffix[i];
    return NULL;
}

/* A lexed number: integer part (saturated above UINT64_MAX) and the fraction
 * digits as a slice of the input. */
struct unit_number {
    unsigned __int128 whole;
    bool whole_overflow;
    const char *frac;
    size_t nFrac;
    const char *rest; /* first character after the number */
};

/* Lex "digits[.digits]". Returns false when the text is not shaped so. */
static bool lex_number(const char *s, struct unit_number *num)
{
    memset(num, 0, sizeof *num);
    if (!is_digit(*s))
        return false;
    for (; is_digit(*s); s++) {
        num->whole = num->whole * 10 + (unsigned)(*s - '0');
        if (num->whole > UINT64_MAX) {
            num->whole_overflow = true;
            num->whole = (unsigned __int128)UINT64_MAX + 1; /* keep it bounded */
        }
    }
    if (*s == '.') {
        s++;
        num->frac = s;
        while (is_digit(*s))
            s++;
        num->nFrac = (size_t)(s - num->frac);
        if (num->nFrac == 0)
            return false;
    }
    num->rest = s;
    return true;
}

/* frac × mult where frac is 0.d1d2…dn: the integer part goes to *out; returns
 * false when digits remain below the point (not a whole number of units). */
static bool scale_fraction(const char *frac, size_t nFrac, uint64_t mult, uint64_t *out)
{
    uint64_t carry = 0; /* < mult ≤ 8e12, so digit × mult + carry fits easily */
    bool exact = true;
    for (size_t i = nFrac; i-- > 0;) {
        uint64_t t = (uint64_t)(frac[i] - '0') * mult + carry;
        if (t % 10 != 0)
            exact = false;
        carry = t / 10;
    }
    *out = carry;
    return exact;
}

static bool has_digit_or_dot(const char *s)
{
    for (; *s; s++)
        if (is_digit(*s) || *s == '.')
            return true;
    return false;
}

/* Classify text; on success *suffix and *num describe it. */
static enum unit_why unit_lex(const struct unit_kind_info *k, const char *text,
                              struct unit_number *num, const struct unit_suffix **suffix)
{
    if (!text || !*text)
        return WHY_EMPTY;
    if (text[0] == '-' && is_digit(text[1]))
        return WHY_NEGATIVE;
    if (!lex_number(text, num)) {
        bool letter = (text[0] >= 'a' && text[0] <= 'z') || (text[0] >= 'A' && text[0] <= 'Z');
        return letter && !has_digit_or_dot(text) ? WHY_NO_NUMBER : WHY_MALFORMED;
    }
    const char *rest = num->rest;
    if (*rest == ' ')
        rest++;
    if (!*rest)
        return WHY_NO_UNIT;
    if (has_digit_or_dot(rest))
        return WHY_MALFORMED; /* "1.2.3ns", "1e3ns", "0x10ns" */
    *suffix = find_suffix(k, rest);
    return *suffix ? WHY_COUNT : WHY_BAD_UNIT;
}

static int why_rc(enum unit_why w)
{
    switch (w) {
    case WHY_NO_UNIT:
    case WHY_BAD_UNIT:
        return ORR_EUNIT;
    case WHY_NEGATIVE:
    case WHY_RESOLUTION:
    case WHY_OVERFLOW:
        return ORR_ERANGE;
    default:
        return ORR_EPARSE;
    }
}

static int unit_fail(const struct unit_kind_info *k, enum unit_why w, const char **why)
{
    if (why)
        *why = k->aWhy[w];
    return why_rc(w);
}

int orr_unit_parse(enum orr_unit_kind kind, const char *text, uint64_t *out, const char **why)
{
    if (!kind_ok(kind) || !out) {
        if (why)
            *why = "invalid unit kind";
        return ORR_EINVAL;
    }
    const struct unit_kind_info *k = &aKind[kind];
    struct unit_number num;
    const struct unit_suffix *suffix = NULL;
    enum unit_why w = unit_lex(k, text, &num, &suffix);
    if (w != WHY_COUNT)
        return unit_fail(k, w, why);
    if (num.whole_overflow)
        return unit_fail(k, WHY_OVERFLOW, why);
    uint64_t fracPart;
    if (!scale_fraction(num.frac, num.nFrac, suffix->mult, &fracPart))
        return unit_fail(k, WHY_RESOLUTION, why);
    unsigned __int128 v = num.whole * suffix->mult + fracPart;
    if (v > UINT64_MAX)
        return unit_fail(k, WHY_OVERFLOW, why);
    *out = (uint64_t)v;
    if (why)
        *why = NULL;
    return 0;
}

/* At most this many fraction digits make a rendering "short" enough to be a
 * candidate; among candidates the shortest number (suffix not counted) wins
 * and ties go to the earlier suffix in the table (larger, binary before
 * decimal): 1500000 ps is "1.5us", 1536 B "1.5KiB", 1000 B "1KB",
 * 3200000000 B "3.2GB", 1234567 ps "1234567ps". */
#define FORMAT_MAX_FRAC 3

/* Render v in suffix s into buf if v ≥ one s and the fraction has at most
 * FORMAT_MAX_FRAC digits. */
static bool format_in(uint64_t v, const struct unit_suffix *s, char *buf, size_t n)
{
    if (v < s->mult)
        return false;
    char frac[FORMAT_MAX_FRAC + 2] = ".";
    uint64_t rem = v % s->mult; /* rem × 10 < 8e13: no overflow */
    int nFrac = 0;
    while (rem != 0 && nFrac < FORMAT_MAX_FRAC) {
        rem *= 10;
        frac[1 + nFrac++] = (char)('0' + rem / s->mult);
        rem %= s->mult;
    }
    if (rem != 0)
        return false;
    snprintf(buf, n, "%llu%s%s", (unsigned long long)(v / s->mult), nFrac ? frac : "",
             s->name);
    return true;
}

size_t orr_unit_format(enum orr_unit_kind kind, uint64_t v, char *buf, size_t n)
{
    char best[64] = "", tmp[64];
    size_t bestDigits = SIZE_MAX;
    if (kind_ok(kind)) {
        const struct unit_kind_info *k = &aKind[kind];
        /* the base unit (mult 1) is in every table, so something qualifies */
        for (size_t i = 0; i < k->nSuffix; i++) {
            const struct unit_suffix *s = &k->aSuffix[i];
            if (!s->format || !format_in(v, s, tmp, sizeof tmp))
                continue;
            size_t digits = strlen(tmp) - strlen(s->name);
            if (digits < bestDigits) {
                bestDigits = digits;
                memcpy(best, tmp, sizeof best);
            }
        }
        if (!best[0]) /* v == 0 is below every suffix, the base included */
            snprintf(best, sizeof best, "0%s", k->base);
    }
    size_t len = strlen(best);
    if (n > 0)
        snprintf(buf, n, "%s", best);
    return len;
}
