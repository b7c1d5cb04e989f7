"""The C runtime every generated module starts with, as named helpers (notebook 04).

In: nothing (C text kept as data). Out: `prelude(overrides)`, the C text of the value
representation, the call context, the bail-out path and one small `static inline` helper per
Python operation, in order; plus the status codes C returns and their names.

Values are tagged (`jk_val` = a 64-bit payload and a tag: int, bool, None or unbound), so any
function of the subset compiles, whatever mix of types flows through it; gcc folds the tags
away where it can see them. Where C and Python differ (overflow, floor division, division by
zero, a None operand, an unbound local, too deep recursion, Ctrl-C) a helper calls
`jk_bail(cx, status)`, which `longjmp`s straight back to `jk_run`: the whole call stops there
and Python decides what happens next (see `jitkit.hostc.module`). A helper can be replaced by
name (`overrides`), which is how the exercises plug a learner's C into the real pipeline.
"""

from __future__ import annotations

# Status codes jk_run returns. OK and INTERRUPTED end the call; every other one is a bail-out:
# the call is discarded and re-run by the kit VM, which computes or raises exactly.
STATUS = {
    0: "ok",
    1: "overflow",  # an int64 cannot hold the result (Python ints can)
    2: "zero_division",
    3: "recursion",  # the depth or native stack budget ran out
    4: "type",  # a None operand, a wrong argument count
    5: "unbound",  # a local read before it was assigned
    6: "value",  # range() step 0
    7: "negative_power",  # x ** -n is a float in CPython
    8: "output_limit",  # the print buffer reached its limit
    9: "memory",  # malloc failed
    10: "interrupted",  # SIGINT arrived (Ctrl-C)
}
OK, INTERRUPTED = 0, 10
TAG_INT, TAG_BOOL, TAG_NONE, TAG_UNBOUND = 0, 1, 2, 3

HEADER = r"""
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A kit function stays one function (gcc: no inlining into callers, no clones like
   py_f.constprop.0), so its listing is what runs, under its own name; it costs fib nothing. */
#if defined(__GNUC__) && !defined(__clang__)
#define JK_FUNCTION __attribute__((noipa)) static
#else
#define JK_FUNCTION __attribute__((noinline)) static
#endif

/* A kit value: payload v (int, or 0/1 for bools) and a tag. 16 bytes: two registers. */
typedef struct { int64_t v; int64_t t; } jk_val;
enum { JK_INT = 0, JK_BOOL = 1, JK_NONE = 2, JK_UNBOUND = 3 };
enum { JK_OK, JK_OVERFLOW, JK_ZERO_DIVISION, JK_RECURSION, JK_TYPE, JK_UNBOUND_LOCAL,
       JK_VALUE, JK_NEGATIVE_POWER, JK_OUTPUT_LIMIT, JK_MEMORY, JK_INTERRUPTED };

/* One call from Python: its print buffer, its depth budget, where to bail out to. */
typedef struct {
    char *out; int64_t len, cap, out_limit;        /* the call's output, not yet shown */
    int64_t depth, depth_limit;                    /* kit call depth, RecursionError beyond */
    uintptr_t stack_floor; int64_t stack_budget;   /* thread's floor in; jk_run adds budget */
    const volatile uint8_t *interrupt;             /* set by the SIGINT handler */
    jmp_buf *bail;                                 /* jk_run's setjmp */
} jk_ctx;

__attribute__((noreturn, cold)) static void jk_bail(jk_ctx *cx, int status) {
    longjmp(*cx->bail, status);
}
"""

# name -> C definition, in dependency order. Every one is `static`, so unused ones cost nothing.
HELPERS: dict[str, str] = {
    "jk_values": r"""
static inline jk_val jk_int(int64_t v) { return (jk_val){v, JK_INT}; }
static inline jk_val jk_bool(int b) { return (jk_val){b != 0, JK_BOOL}; }
static const jk_val jk_none = {0, JK_NONE}, jk_unbound = {0, JK_UNBOUND};
static inline jk_val jk_fail(jk_ctx *cx, int status) { jk_bail(cx, status); }
/* Python truthiness: 0, False and None are false (unbound never gets here). */
static inline int jk_truth(jk_val x) { return x.v != 0; }
/* The int behind an int or a bool; None is a TypeError in Python. */
static inline int64_t jk_number(jk_ctx *cx, jk_val x) {
    if (__builtin_expect(x.t > JK_BOOL, 0)) jk_bail(cx, JK_TYPE);
    return x.v;
}
static inline jk_val jk_load(jk_ctx *cx, jk_val x) {
    if (__builtin_expect(x.t == JK_UNBOUND, 0)) jk_bail(cx, JK_UNBOUND_LOCAL);
    return x;
}
""",
    "jk_frames": r"""
/* Function entry: count the depth, check the native stack and Ctrl-C. */
static inline void jk_poll(jk_ctx *cx) {
    if (__builtin_expect(*cx->interrupt, 0)) jk_bail(cx, JK_INTERRUPTED);
}
static inline void jk_enter(jk_ctx *cx) {
    if (__builtin_expect(++cx->depth > cx->depth_limit, 0)) jk_bail(cx, JK_RECURSION);
    if (__builtin_expect((uintptr_t)__builtin_frame_address(0) < cx->stack_floor, 0))
        jk_bail(cx, JK_RECURSION);
    jk_poll(cx);
}
static inline jk_val jk_leave(jk_ctx *cx, jk_val result) { cx->depth--; return result; }
""",
    "jk_add": r"""
static inline jk_val jk_add(jk_ctx *cx, jk_val a, jk_val b) {
    int64_t r;
    if (__builtin_add_overflow(jk_number(cx, a), jk_number(cx, b), &r)) jk_bail(cx, JK_OVERFLOW);
    return jk_int(r);
}
""",
    "jk_sub": r"""
static inline jk_val jk_sub(jk_ctx *cx, jk_val a, jk_val b) {
    int64_t r;
    if (__builtin_sub_overflow(jk_number(cx, a), jk_number(cx, b), &r)) jk_bail(cx, JK_OVERFLOW);
    return jk_int(r);
}
""",
    "jk_mul": r"""
static inline jk_val jk_mul(jk_ctx *cx, jk_val a, jk_val b) {
    int64_t r;
    if (__builtin_mul_overflow(jk_number(cx, a), jk_number(cx, b), &r)) jk_bail(cx, JK_OVERFLOW);
    return jk_int(r);
}
""",
    "jk_floor": r"""
/* C's / and % truncate toward zero, Python's floor. Here b != 0 and (a, b) != (INT64_MIN, -1),
   so neither can trap: when the remainder is non-zero and its sign differs from b's, the
   truncated quotient is one too big and the remainder is off by b. */
static inline int64_t jk_floor_quotient(int64_t a, int64_t b) {
    int64_t q = a / b, r = a % b;
    return (r != 0 && (r ^ b) < 0) ? q - 1 : q;
}
static inline int64_t jk_floor_remainder(int64_t a, int64_t b) {
    int64_t r = a % b;
    return (r != 0 && (r ^ b) < 0) ? r + b : r;
}
""",
    "jk_floordiv": r"""
static inline jk_val jk_floordiv(jk_ctx *cx, jk_val a, jk_val b) {
    int64_t x = jk_number(cx, a), y = jk_number(cx, b);
    if (y == 0) jk_bail(cx, JK_ZERO_DIVISION);
    if (y == -1) {  /* x // -1 is -x: INT64_MIN // -1 does not fit (and idiv would trap) */
        if (x == INT64_MIN) jk_bail(cx, JK_OVERFLOW);
        return jk_int(-x);
    }
    return jk_int(jk_floor_quotient(x, y));
}
""",
    "jk_mod": r"""
static inline jk_val jk_mod(jk_ctx *cx, jk_val a, jk_val b) {
    int64_t x = jk_number(cx, a), y = jk_number(cx, b);
    if (y == 0) jk_bail(cx, JK_ZERO_DIVISION);
    if (y == -1) return jk_int(0);  /* INT64_MIN % -1 would trap in idiv */
    return jk_int(jk_floor_remainder(x, y));
}
""",
    "jk_pow": r"""
/* Square and multiply; every product checked. A negative exponent makes a float in Python. */
static inline jk_val jk_pow(jk_ctx *cx, jk_val a, jk_val b) {
    int64_t base = jk_number(cx, a), exp = jk_number(cx, b), result = 1;
    if (exp < 0) jk_bail(cx, JK_NEGATIVE_POWER);
    while (exp > 0) {
        if ((exp & 1) && __builtin_mul_overflow(result, base, &result)) jk_bail(cx, JK_OVERFLOW);
        exp >>= 1;
        if (exp > 0 && __builtin_mul_overflow(base, base, &base)) jk_bail(cx, JK_OVERFLOW);
    }
    return jk_int(result);
}
""",
    "jk_unary": r"""
static inline jk_val jk_neg(jk_ctx *cx, jk_val a) {
    int64_t r;
    if (__builtin_sub_overflow((int64_t)0, jk_number(cx, a), &r)) jk_bail(cx, JK_OVERFLOW);
    return jk_int(r);
}
static inline jk_val jk_pos(jk_ctx *cx, jk_val a) { return jk_int(jk_number(cx, a)); }
static inline jk_val jk_not(jk_val a) { return jk_bool(!jk_truth(a)); }
static inline jk_val jk_abs(jk_ctx *cx, jk_val a) {
    int64_t x = jk_number(cx, a);
    if (x == INT64_MIN) jk_bail(cx, JK_OVERFLOW);
    return jk_int(x < 0 ? -x : x);
}
""",
    "jk_compare": r"""
/* == and != take None (equal only to None); ordering a None is a TypeError. */
static inline int jk_eq(jk_val a, jk_val b) {
    return ((a.t == JK_NONE) == (b.t == JK_NONE)) && a.v == b.v;
}
static inline int jk_ne(jk_val a, jk_val b) { return !jk_eq(a, b); }
static inline int jk_lt(jk_ctx *cx, jk_val a, jk_val b) {
    return jk_number(cx, a) < jk_number(cx, b);
}
static inline int jk_le(jk_ctx *cx, jk_val a, jk_val b) {
    return jk_number(cx, a) <= jk_number(cx, b);
}
static inline int jk_gt(jk_ctx *cx, jk_val a, jk_val b) {
    return jk_number(cx, a) > jk_number(cx, b);
}
static inline int jk_ge(jk_ctx *cx, jk_val a, jk_val b) {
    return jk_number(cx, a) >= jk_number(cx, b);
}
""",
    "jk_minmax": r"""
/* Python's min and max return the *first* of equal values, with its type: min(True, 1) is True. */
static inline jk_val jk_min(jk_ctx *cx, jk_val a, jk_val b) { return jk_lt(cx, b, a) ? b : a; }
static inline jk_val jk_max(jk_ctx *cx, jk_val a, jk_val b) { return jk_gt(cx, b, a) ? b : a; }
""",
    "jk_range": r"""
/* range(start, stop, step) takes ints and bools, and refuses a zero step. */
static inline void jk_range_check(jk_ctx *cx, int64_t step) {
    if (step == 0) jk_bail(cx, JK_VALUE);
}
static inline int jk_range_more(int64_t i, int64_t stop, int64_t step) {
    return step > 0 ? i < stop : i > stop;
}
""",
    "jk_float_repr": r"""
/* repr(float) as CPython writes it: the fewest significant digits that read back (strtod) to
   the same double, and of two such decimals the nearer (David Gay's mode 0, which CPython
   uses). glibc's printf rounds exactly, so "%.*e" gives the nearest p-digit decimal; when
   that one does not read back, the p-digit neighbour on x's other side still may (x a power
   of two: its gap below is half the gap above). Out: the text in out (>= 32 bytes), its length. */
static int jk_round_trips(double x, uint64_t digits, int exp10, double *read) {
    char text[40];
    snprintf(text, sizeof text, "%llue%d", (unsigned long long)digits, exp10);
    *read = strtod(text, 0);
    return *read == x;
}
static void jk_shortest(double x, uint64_t *digits, int *exp10) {
    /* x finite and > 0; the result is digits * 10**exp10 */
    static const uint64_t pow10[18] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
        100000000, 1000000000, UINT64_C(10000000000), UINT64_C(100000000000),
        UINT64_C(1000000000000), UINT64_C(10000000000000), UINT64_C(100000000000000),
        UINT64_C(1000000000000000), UINT64_C(10000000000000000),
        UINT64_C(100000000000000000)};
    for (int p = 1; p <= 17; p++) {
        char text[40], *e;
        snprintf(text, sizeof text, "%.*e", p - 1, x);  /* d.ddde+XX */
        uint64_t d = 0;
        for (e = text; *e != 'e'; e++)
            if (*e != '.') d = d * 10 + (uint64_t)(*e - '0');
        int exp = atoi(e + 1) - (p - 1);
        double read;
        if (jk_round_trips(x, d, exp, &read) || p == 17) {
            *digits = d, *exp10 = exp;
            break;
        }
        /* the neighbour on the far side of x, still p digits */
        uint64_t other = read < x ? d + 1 : d - 1;
        int other_exp = exp;
        if (other == pow10[p]) other = pow10[p - 1], other_exp++;
        else if (other < pow10[p - 1]) other = pow10[p] - 1, other_exp--;
        if (jk_round_trips(x, other, other_exp, &read)) {
            *digits = other, *exp10 = other_exp;
            break;
        }
    }
    while (*digits % 10 == 0) *digits /= 10, ++*exp10;
}
static int jk_float_repr(double x, char *out) {
    int n = 0;
    if (isnan(x)) return memcpy(out, "nan", 3), 3;
    if (signbit(x)) out[n++] = '-', x = -x;
    if (isinf(x)) return memcpy(out + n, "inf", 3), n + 3;
    if (x == 0) return memcpy(out + n, "0.0", 3), n + 3;
    uint64_t digits;
    int exp10;
    jk_shortest(x, &digits, &exp10);
    char d[24];
    int count = snprintf(d, sizeof d, "%llu", (unsigned long long)digits);
    int point = count + exp10;  /* digits before the decimal point */
    if (point - 1 < -4 || point - 1 >= 16) {  /* 1e+16, 1.5e-05 */
        out[n++] = d[0];
        if (count > 1) out[n++] = '.', memcpy(out + n, d + 1, count - 1), n += count - 1;
        return n + snprintf(out + n, 8, "e%c%02d", point - 1 < 0 ? '-' : '+', abs(point - 1));
    }
    if (point <= 0) {  /* 0.00123 */
        memcpy(out + n, "0.", 2), n += 2;
        for (int i = 0; i < -point; i++) out[n++] = '0';
        return memcpy(out + n, d, count), n + count;
    }
    if (point < count) {  /* 12.5 */
        memcpy(out + n, d, point), n += point, out[n++] = '.';
        return memcpy(out + n, d + point, count - point), n + count - point;
    }
    memcpy(out + n, d, count), n += count;  /* 1200.0 */
    for (int i = count; i < point; i++) out[n++] = '0';
    return memcpy(out + n, ".0", 2), n + 2;
}
""",
    "jk_print": r"""
/* print() writes into the call's own buffer; Python shows it when the call returns. */
static void jk_write(jk_ctx *cx, const char *text, int64_t n) {
    if (cx->len + n > cx->cap) {
        int64_t cap = cx->cap ? cx->cap : 4096;
        while (cap < cx->len + n) cap *= 2;
        if (cap > cx->out_limit) jk_bail(cx, JK_OUTPUT_LIMIT);
        char *grown = realloc(cx->out, (size_t)cap);
        if (!grown) jk_bail(cx, JK_MEMORY);
        cx->out = grown, cx->cap = cap;
    }
    memcpy(cx->out + cx->len, text, (size_t)n);
    cx->len += n;
}
static void jk_print_int(jk_ctx *cx, int64_t v) {
    char digits[24];
    int at = 24;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;  /* INT64_MIN too */
    do digits[--at] = (char)('0' + u % 10); while (u /= 10);
    if (v < 0) digits[--at] = '-';
    jk_write(cx, digits + at, 24 - at);
}
/* str() of a value, as print shows it. */
static void jk_print(jk_ctx *cx, jk_val x) {
    if (x.t == JK_INT) jk_print_int(cx, x.v);
    else if (x.t == JK_BOOL) x.v ? jk_write(cx, "True", 4) : jk_write(cx, "False", 5);
    else jk_write(cx, "None", 4);
}
""",
}


def prelude(overrides: dict[str, str] | None = None) -> str:
    """The runtime's C text, with any helper replaced by name (an unknown name is refused)."""
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(HELPERS))
    if unknown:
        raise ValueError(f"no runtime helper named {unknown}; helpers: {', '.join(HELPERS)}")
    parts = [HEADER.strip()]
    for name, text in HELPERS.items():
        parts.append(f"/* ---- {name} ---- */\n{overrides.get(name, text).strip()}")
    return "\n\n".join(parts) + "\n"
