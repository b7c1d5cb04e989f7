"""The C runtime every generated module starts with, as named helpers (notebook 04).

In: nothing (C text kept as data). Out: `prelude(overrides)`, the C text of the value
representation, the call context, the bail-out path and one small `static inline` helper per
Python operation, in order; plus the status codes C returns and their names.

Values are tagged (`jk_val` = a 64-bit payload and a tag: int, bool, None, unbound, float or
list), so any function of the subset compiles, whatever mix of types flows through it; gcc
folds the tags away where it can see them. Floats follow CPython's own C (float //, % and **
are `float_floor_div`, `float_rem` and `float_pow` line for line; an int and a float compare
exactly) and print as `repr` does. A list is a growable array of tagged items owned by the
call. Where C and Python differ (overflow, floor division, division by zero, a None operand,
an unbound local, an index out of range, too deep recursion, Ctrl-C) a helper calls
`jk_bail(cx, status)`, which `longjmp`s straight back to `jk_run`: the whole call stops there
and Python decides what happens next (see `jitkit.hostc.module`). A helper can be replaced by
name (`overrides`), which is how the exercises plug a learner's C into the real pipeline.
"""

from __future__ import annotations

from jitkit.exact.rerun import c_tags

# Status codes jk_run returns. OK and INTERRUPTED end the call; every other one is a bail-out:
# the call is discarded and re-run by the kit VM, which computes or raises exactly
# (`jitkit.exact.rerun`). The C enum is written from this table.
STATUS = {
    0: "ok",
    1: "overflow",  # an int64 cannot hold the result (Python ints can)
    2: "zero_division",
    3: "recursion",  # the depth or native stack budget ran out
    4: "type",  # a None operand, a wrong argument count
    5: "unbound",  # a local read before it was assigned
    6: "value",  # range() step 0
    7: "negative_power",  # x ** -n is a float in CPython
    8: "memory",  # malloc failed, or the call's lists reached their byte budget
    9: "interrupted",  # SIGINT arrived (Ctrl-C), or the output sink asked to stop
    10: "index",  # a list index out of range (IndexError)
    11: "inexact",  # C cannot do it exactly: int / int beyond 2**53, a list in a list, ...
}
OK, INTERRUPTED = 0, 9
C_STATUS = {"unbound": "UNBOUND_LOCAL"}  # C's name where the status name is a tag's too


def c_statuses() -> str:
    """The status codes as the C prelude's `#define JK_OVERFLOW 1` lines."""
    return "\n".join(
        f"#define JK_{C_STATUS.get(name, name.upper())} {code}" for code, name in STATUS.items()
    )


HEADER = r"""
#include <errno.h>
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

/* A kit value: payload v and a tag. 16 bytes: two registers. The payload is the int, 0/1
   for a bool, the bits of a double for a float, a jk_list pointer for a list. */
typedef struct { int64_t v; int64_t t; } jk_val;
@TAGS@
@STATUSES@

/* A list: its items are tagged values (ints, bools, floats, None; never a list), so a list
   of mixed kinds needs no second representation. Every list a call makes is chained into the
   call's context and freed when the call returns to Python (jk_run, jk_release). */
typedef struct jk_list { int64_t len, cap; jk_val *items; struct jk_list *next; } jk_list;

/* One call from Python: its print buffer, its depth budget, where to bail out to. */
typedef struct {
    char *out; int64_t len, cap;                   /* output not yet shown: a bounded buffer */
    void (*sink)(int32_t, const char *, int64_t);  /* shows it (jitkit.exact.rerun.Output) */
    int64_t depth, depth_limit;                    /* kit call depth, RecursionError beyond */
    uintptr_t stack_floor; int64_t stack_budget;   /* thread's floor in; jk_run adds budget */
    const volatile uint8_t *interrupt;             /* set by the SIGINT handler */
    jmp_buf *bail;                                 /* jk_run's setjmp */
    jk_list *lists; int64_t heap, heap_limit;      /* the call's lists and their bytes */
    int64_t imported;                              /* lists from Python: copied back */
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
static inline jk_val jk_from_double(double d) {
    jk_val x = {0, JK_FLOAT};
    memcpy(&x.v, &d, sizeof d);
    return x;
}
static inline double jk_double(jk_val x) {  /* the double of a float value */
    double d;
    memcpy(&d, &x.v, sizeof d);
    return d;
}
static inline jk_list *jk_list_of(jk_val x) { return (jk_list *)(uintptr_t)x.v; }
/* Python truthiness: 0, 0.0, -0.0, False, None and [] are false (unbound never gets here). */
static inline int jk_truth(jk_val x) {
    if (x.t <= JK_NONE) return x.v != 0;
    return x.t == JK_FLOAT ? jk_double(x) != 0 : jk_list_of(x)->len != 0;
}
/* The int path first in every helper: one test of both tags, as before floats came. */
static inline int jk_both_ints(jk_val a, jk_val b) { return a.t <= JK_BOOL && b.t <= JK_BOOL; }
/* An int, bool or float operand as a double, as CPython converts it (an int64 rounds to
   nearest, ties to even, as PyLong_AsDouble does); anything else is a TypeError. */
static inline double jk_real(jk_ctx *cx, jk_val x) {
    if (x.t == JK_FLOAT) return jk_double(x);
    if (__builtin_expect(x.t > JK_BOOL, 0)) jk_bail(cx, JK_TYPE);
    return (double)x.v;
}
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
    "jk_lists": r"""
/* A new list of len items (not yet set), chained into the call's lists before anything can
   bail out, so jk_run frees it whatever happens. Past the call's byte budget: MEMORY. */
static void jk_heap(jk_ctx *cx, int64_t count) {
    if (count > (cx->heap_limit - cx->heap) / (int64_t)sizeof(jk_val)) jk_bail(cx, JK_MEMORY);
    cx->heap += count * (int64_t)sizeof(jk_val);
}
static jk_list *jk_new_list(jk_ctx *cx, int64_t len) {
    jk_heap(cx, len + 2);
    jk_list *list = calloc(1, sizeof *list);
    if (!list) jk_bail(cx, JK_MEMORY);
    list->next = cx->lists, cx->lists = list;
    if (len > 0) {
        list->items = malloc((size_t)len * sizeof(jk_val));
        if (!list->items) jk_bail(cx, JK_MEMORY);
    }
    list->len = list->cap = len;
    return list;
}
static void jk_free_lists(jk_ctx *cx) {
    for (jk_list *list = cx->lists, *next; list; list = next)
        next = list->next, free(list->items), free(list);
    cx->lists = 0, cx->heap = 0;
}
static inline jk_val jk_list_value(jk_list *list) {
    return (jk_val){(int64_t)(uintptr_t)list, JK_LIST};
}
/* What may go into a list: not a list (a list in a list is the VM's). */
static inline jk_val jk_item(jk_ctx *cx, jk_val x) {
    if (__builtin_expect(x.t == JK_LIST, 0)) jk_bail(cx, JK_INEXACT);
    return x;
}
static inline jk_list *jk_as_list(jk_ctx *cx, jk_val x) {
    if (__builtin_expect(x.t != JK_LIST, 0)) jk_bail(cx, JK_TYPE);  /* not subscriptable */
    return jk_list_of(x);
}
/* [a, b, c]: the items were evaluated in order by the caller. */
static jk_val jk_list_display(jk_ctx *cx, int64_t n, const jk_val *items) {
    jk_list *list = jk_new_list(cx, n);
    for (int64_t i = 0; i < n; i++) list->items[i] = jk_item(cx, items[i]);
    return jk_list_value(list);
}
/* xs * n (n * xs): n copies of the items; n <= 0 makes []. */
static jk_val jk_repeat(jk_ctx *cx, jk_val xs, int64_t n) {
    jk_list *from = jk_list_of(xs);
    int64_t len = from->len, total = 0;
    if (n > 0 && len > 0 && __builtin_mul_overflow(len, n, &total)) jk_bail(cx, JK_MEMORY);
    jk_list *list = jk_new_list(cx, total);
    if (total == 0) return jk_list_value(list);
    memcpy(list->items, from->items, (size_t)len * sizeof(jk_val));
    for (int64_t done = len; done < total; done *= 2)  /* doubling: log2(n) copies */
        memcpy(list->items + done, list->items,
               (size_t)(done < total - done ? done : total - done) * sizeof(jk_val));
    return jk_list_value(list);
}
/* xs *= n: `repeated` (jk_mul's new list) becomes the contents of xs itself, so every name
   for xs sees the copies; any other left operand keeps jk_mul's value. */
static jk_val jk_repeat_in_place(jk_val xs, jk_val repeated) {
    if (xs.t != JK_LIST) return repeated;
    jk_list *list = jk_list_of(xs), *made = jk_list_of(repeated), swap = *list;
    list->len = made->len, list->cap = made->cap, list->items = made->items;
    made->len = swap.len, made->cap = swap.cap, made->items = swap.items;  /* freed with it */
    return xs;
}
/* The position of index i in xs (negative counts from the end), IndexError when outside. */
static inline int64_t jk_index(jk_ctx *cx, jk_list *list, jk_val i) {
    if (__builtin_expect(i.t > JK_BOOL, 0)) jk_bail(cx, JK_TYPE);  /* float, None, list */
    int64_t at = i.v < 0 ? i.v + list->len : i.v;
    if (__builtin_expect((uint64_t)at >= (uint64_t)list->len, 0)) jk_bail(cx, JK_INDEX);
    return at;
}
static inline jk_val jk_getitem(jk_ctx *cx, jk_val xs, jk_val i) {
    jk_list *list = jk_as_list(cx, xs);
    return list->items[jk_index(cx, list, i)];
}
static inline void jk_setitem(jk_ctx *cx, jk_val xs, jk_val i, jk_val item) {
    jk_list *list = jk_as_list(cx, xs);
    list->items[jk_index(cx, list, i)] = jk_item(cx, item);
}
static jk_val jk_append(jk_ctx *cx, jk_val xs, jk_val item) {
    jk_list *list = jk_as_list(cx, xs);  /* AttributeError in CPython: the VM says so */
    item = jk_item(cx, item);
    if (list->len == list->cap) {
        int64_t cap = list->cap < 4 ? 8 : list->cap * 2;
        jk_heap(cx, cap - list->cap);
        jk_val *grown = realloc(list->items, (size_t)cap * sizeof(jk_val));
        if (!grown) jk_bail(cx, JK_MEMORY);
        list->items = grown, list->cap = cap;
    }
    list->items[list->len++] = item;
    return jk_none;
}
/* for x in xs: a TypeError for anything but a list */
static inline jk_list *jk_iterable(jk_ctx *cx, jk_val x) { return jk_as_list(cx, x); }
static inline jk_val jk_len(jk_ctx *cx, jk_val xs) { return jk_int(jk_as_list(cx, xs)->len); }
""",
    "jk_add": r"""
static inline jk_val jk_add(jk_ctx *cx, jk_val a, jk_val b) {
    if (!jk_both_ints(a, b)) return jk_from_double(jk_real(cx, a) + jk_real(cx, b));
    int64_t r;
    if (__builtin_add_overflow(a.v, b.v, &r)) jk_bail(cx, JK_OVERFLOW);
    return jk_int(r);
}
""",
    "jk_sub": r"""
static inline jk_val jk_sub(jk_ctx *cx, jk_val a, jk_val b) {
    if (!jk_both_ints(a, b)) return jk_from_double(jk_real(cx, a) - jk_real(cx, b));
    int64_t r;
    if (__builtin_sub_overflow(a.v, b.v, &r)) jk_bail(cx, JK_OVERFLOW);
    return jk_int(r);
}
""",
    "jk_mul": r"""
static inline jk_val jk_mul(jk_ctx *cx, jk_val a, jk_val b) {
    if (!jk_both_ints(a, b)) {
        if (a.t == JK_LIST) return jk_repeat(cx, a, jk_number(cx, b));
        if (b.t == JK_LIST) return jk_repeat(cx, b, jk_number(cx, a));
        return jk_from_double(jk_real(cx, a) * jk_real(cx, b));
    }
    int64_t r;
    if (__builtin_mul_overflow(a.v, b.v, &r)) jk_bail(cx, JK_OVERFLOW);
    return jk_int(r);
}
""",
    "jk_truediv": r"""
/* int / int is the correctly rounded quotient in CPython; the double division is that when
   both ints are exact doubles (|x| <= 2**53), as in CPython's own fast path. */
static inline jk_val jk_truediv(jk_ctx *cx, jk_val a, jk_val b) {
    if (!jk_both_ints(a, b)) {
        double x = jk_real(cx, a), y = jk_real(cx, b);
        if (y == 0) jk_bail(cx, JK_ZERO_DIVISION);
        return jk_from_double(x / y);
    }
    int64_t x = jk_number(cx, a), y = jk_number(cx, b), exact = INT64_C(1) << 53;
    if (y == 0) jk_bail(cx, JK_ZERO_DIVISION);
    if (x > exact || x < -exact || y > exact || y < -exact) jk_bail(cx, JK_INEXACT);
    return jk_from_double((double)x / (double)y);
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
/* Float // and %: CPython's _float_div_mod and float_rem (Objects/floatobject.c), line for
   line; wx != 0 here. */
static double jk_float_floordiv(double vx, double wx) {
    double mod = fmod(vx, wx), div = (vx - mod) / wx, floordiv;
    if (mod) {
        if ((wx < 0) != (mod < 0)) mod += wx, div -= 1.0;
    }
    if (div) {
        floordiv = floor(div);
        if (div - floordiv > 0.5) floordiv += 1.0;
    } else {
        floordiv = copysign(0.0, vx / wx);
    }
    return floordiv;
}
static double jk_float_mod(double vx, double wx) {
    double mod = fmod(vx, wx);
    if (mod) {
        if ((wx < 0) != (mod < 0)) mod += wx;
    } else {
        mod = copysign(0.0, wx);
    }
    return mod;
}
""",
    "jk_floordiv": r"""
static inline jk_val jk_floordiv(jk_ctx *cx, jk_val a, jk_val b) {
    if (!jk_both_ints(a, b)) {
        double x = jk_real(cx, a), y = jk_real(cx, b);
        if (y == 0) jk_bail(cx, JK_ZERO_DIVISION);
        return jk_from_double(jk_float_floordiv(x, y));
    }
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
    if (!jk_both_ints(a, b)) {
        double x = jk_real(cx, a), y = jk_real(cx, b);
        if (y == 0) jk_bail(cx, JK_ZERO_DIVISION);
        return jk_from_double(jk_float_mod(x, y));
    }
    int64_t x = jk_number(cx, a), y = jk_number(cx, b);
    if (y == 0) jk_bail(cx, JK_ZERO_DIVISION);
    if (y == -1) return jk_int(0);  /* INT64_MIN % -1 would trap in idiv */
    return jk_int(jk_floor_remainder(x, y));
}
""",
    "jk_pow": r"""
/* Float **: CPython's float_pow for finite operands (libm's pow, as CPython calls it), with
   its errors left to the VM: 0.0 ** -y (ZeroDivisionError), a negative base and a fractional
   exponent (a complex result), an infinite result (OverflowError). NaN or infinite operands:
   the VM. */
static jk_val jk_float_pow(jk_ctx *cx, double iv, double iw) {
    if (!isfinite(iv) || !isfinite(iw)) jk_bail(cx, JK_INEXACT);
    if (iw == 0) return jk_from_double(1.0);
    int integral = floor(iw) == iw, odd = integral && fmod(fabs(iw), 2.0) == 1.0;
    if (iv == 0) {
        if (iw < 0) jk_bail(cx, JK_ZERO_DIVISION);
        return jk_from_double(odd ? iv : 0.0);
    }
    if (iv < 0 && !integral) jk_bail(cx, JK_INEXACT);
    int negate = iv < 0 && odd;
    if (iv < 0) iv = -iv;
    if (iv == 1.0) return jk_from_double(negate ? -1.0 : 1.0);
    errno = 0;
    double ix = pow(iv, iw);
    if (errno == 0 && isinf(ix)) errno = ERANGE;  /* CPython's _Py_ADJUST_ERANGE1 */
    else if (errno == ERANGE && ix == 0.0) errno = 0;
    if (errno) jk_bail(cx, JK_OVERFLOW);  /* OverflowError (or ValueError): the VM's */
    return jk_from_double(negate ? -ix : ix);
}
/* Int **: square and multiply, every product checked; a negative exponent makes a float,
   as CPython's long_pow hands it to float_pow. */
static inline jk_val jk_pow(jk_ctx *cx, jk_val a, jk_val b) {
    if (!jk_both_ints(a, b)) return jk_float_pow(cx, jk_real(cx, a), jk_real(cx, b));
    int64_t base = jk_number(cx, a), exp = jk_number(cx, b), result = 1;
    if (exp < 0) return jk_float_pow(cx, (double)base, (double)exp);
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
    if (a.t == JK_FLOAT) return jk_from_double(-jk_double(a));
    int64_t r;
    if (__builtin_sub_overflow((int64_t)0, jk_number(cx, a), &r)) jk_bail(cx, JK_OVERFLOW);
    return jk_int(r);
}
static inline jk_val jk_pos(jk_ctx *cx, jk_val a) {
    return a.t == JK_FLOAT ? a : jk_int(jk_number(cx, a));
}
static inline jk_val jk_not(jk_val a) { return jk_bool(!jk_truth(a)); }
static inline jk_val jk_abs(jk_ctx *cx, jk_val a) {
    if (a.t == JK_FLOAT) return jk_from_double(fabs(jk_double(a)));
    int64_t x = jk_number(cx, a);
    if (x == INT64_MIN) jk_bail(cx, JK_OVERFLOW);
    return jk_int(x < 0 ? -x : x);
}
""",
    "jk_convert": r"""
/* float(x) and int(x). int() of a float truncates; NaN is a ValueError, infinity an
   OverflowError, and a result beyond int64 a big int: all three the VM's. */
static inline jk_val jk_to_float(jk_ctx *cx, jk_val x) { return jk_from_double(jk_real(cx, x)); }
static inline jk_val jk_to_int(jk_ctx *cx, jk_val x) {
    if (x.t != JK_FLOAT) return jk_int(jk_number(cx, x));
    double d = jk_double(x);
    if (isnan(d)) jk_bail(cx, JK_VALUE);
    d = trunc(d);
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) jk_bail(cx, JK_OVERFLOW);
    return jk_int((int64_t)d);
}
""",
    "jk_compare": r"""
/* An int against a double, exactly (CPython does not round the int): -1, 0, 1, or 2 when
   the double is NaN. Below 2**63 in magnitude the double's integral part is an int64. */
static int jk_compare_int_double(int64_t i, double d) {
    if (isnan(d)) return 2;
    if (d >= 9223372036854775808.0) return -1;
    if (d < -9223372036854775808.0) return 1;
    double whole = trunc(d);
    int64_t w = (int64_t)whole;
    if (i != w) return i < w ? -1 : 1;
    return d > whole ? -1 : d < whole ? 1 : 0;
}
/* Two numbers (int, bool, float) ordered: -1, 0, 1, or 2 when unordered (NaN). Ordering a
   None or a list (lists compare item by item in CPython) is the VM's. Out of line: the
   helpers below test two ints and two floats inline first. */
__attribute__((noinline)) static int jk_order(jk_ctx *cx, jk_val a, jk_val b) {
    if ((a.t > JK_BOOL && a.t != JK_FLOAT) || (b.t > JK_BOOL && b.t != JK_FLOAT))
        jk_bail(cx, JK_TYPE);
    if (a.t == JK_FLOAT && b.t == JK_FLOAT) {
        double x = jk_double(a), y = jk_double(b);
        return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;
    }
    if (a.t == JK_FLOAT) {
        int r = jk_compare_int_double(b.v, jk_double(a));
        return r == 2 ? 2 : -r;
    }
    if (b.t == JK_FLOAT) return jk_compare_int_double(a.v, jk_double(b));
    return a.v < b.v ? -1 : a.v > b.v;
}
static inline int jk_both_floats(jk_val a, jk_val b) {
    return a.t == JK_FLOAT && b.t == JK_FLOAT;
}
/* == and != take anything: None equals only None, a number no list; two lists compare
   item by item (by identity first) in CPython: the VM's. */
static inline int jk_eq(jk_ctx *cx, jk_val a, jk_val b) {
    if (jk_both_ints(a, b)) return a.v == b.v;
    if (jk_both_floats(a, b)) return jk_double(a) == jk_double(b);
    if (a.t == JK_NONE || b.t == JK_NONE) return a.t == b.t;
    if (a.t == JK_LIST && b.t == JK_LIST) jk_bail(cx, JK_INEXACT);
    if (a.t == JK_LIST || b.t == JK_LIST) return 0;
    return jk_order(cx, a, b) == 0;
}
static inline int jk_ne(jk_ctx *cx, jk_val a, jk_val b) { return !jk_eq(cx, a, b); }
static inline int jk_lt(jk_ctx *cx, jk_val a, jk_val b) {
    if (jk_both_ints(a, b)) return a.v < b.v;
    if (jk_both_floats(a, b)) return jk_double(a) < jk_double(b);
    return jk_order(cx, a, b) == -1;
}
static inline int jk_le(jk_ctx *cx, jk_val a, jk_val b) {
    if (jk_both_ints(a, b)) return a.v <= b.v;
    if (jk_both_floats(a, b)) return jk_double(a) <= jk_double(b);
    int r = jk_order(cx, a, b);
    return r == -1 || r == 0;
}
static inline int jk_gt(jk_ctx *cx, jk_val a, jk_val b) {
    if (jk_both_ints(a, b)) return a.v > b.v;
    if (jk_both_floats(a, b)) return jk_double(a) > jk_double(b);
    return jk_order(cx, a, b) == 1;
}
static inline int jk_ge(jk_ctx *cx, jk_val a, jk_val b) {
    if (jk_both_ints(a, b)) return a.v >= b.v;
    if (jk_both_floats(a, b)) return jk_double(a) >= jk_double(b);
    int r = jk_order(cx, a, b);
    return r == 1 || r == 0;
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
   of two: its gap below is half the gap above). jk_float_repr: the text in out (>= 32
   bytes), its length. */
static const uint64_t jk_pow10[18] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
    100000000, 1000000000, UINT64_C(10000000000), UINT64_C(100000000000),
    UINT64_C(1000000000000), UINT64_C(10000000000000), UINT64_C(100000000000000),
    UINT64_C(1000000000000000), UINT64_C(10000000000000000), UINT64_C(100000000000000000)};
/* Does digits * 10**exp10 read back (strtod, correctly rounded) as x? */
static int jk_round_trips(double x, uint64_t digits, int exp10, double *read) {
    char text[40], backwards[24];
    int n = 0, k = 0;
    do backwards[k++] = (char)('0' + digits % 10); while (digits /= 10);
    while (k) text[n++] = backwards[--k];
    text[n++] = 'e';
    if (exp10 < 0) text[n++] = '-', exp10 = -exp10;
    do backwards[k++] = (char)('0' + exp10 % 10); while (exp10 /= 10);
    while (k) text[n++] = backwards[--k];
    text[n] = 0;
    *read = strtod(text, 0);
    return *read == x;
}
/* The first digits of x: "%.*e" (exact in glibc) read as an integer and the exponent of its
   last digit. The point may be a locale's comma: digits only. */
static uint64_t jk_printf_digits(double x, int count, char *many, int *exp10) {
    char text[64], *e;
    snprintf(text, sizeof text, "%.*e", count - 1, x);
    uint64_t d = 0;
    int n = 0;
    for (e = text; *e != 'e'; e++)
        if (*e >= '0' && *e <= '9') d = d * 10 + (uint64_t)(*e - '0'), many[n++] = *e;
    *exp10 = atoi(e + 1) - (count - 1);
    return d;
}
/* Does a p-digit decimal read back as x? If one does, one of the two around x does: the
   nearest or, when that one does not, its neighbour on x's other side. The nearest is x's
   40 digits (`many`, the last one's exponent `exp40`) rounded to p; a tail of exactly 5000...
   may be a tie or already rounded, so printf rounds those itself. */
static int jk_digits_for(double x, int p, const char *many, int exp40, uint64_t *digits,
                         int *exp10) {
    uint64_t d = 0;
    for (int i = 0; i < p; i++) d = d * 10 + (uint64_t)(many[i] - '0');
    int exp = exp40 + 40 - p, rest = 0;
    for (int i = p + 1; i < 40; i++) rest |= many[i] != '0';
    if (many[p] > '5' || (many[p] == '5' && rest)) d++;
    else if (many[p] == '5') {
        char again[64];
        d = jk_printf_digits(x, p, again, &exp);
    }
    if (d == jk_pow10[p]) d = jk_pow10[p - 1], exp++;  /* 9.99 rounded up to 10.0 */
    double read;
    if (jk_round_trips(x, d, exp, &read)) return *digits = d, *exp10 = exp, 1;
    uint64_t other = read < x ? d + 1 : d - 1;  /* still p digits: */
    if (other == jk_pow10[p]) other = jk_pow10[p - 1], exp++;
    else if (other < jk_pow10[p - 1]) other = jk_pow10[p] - 1, exp--;
    if (jk_round_trips(x, other, exp, &read)) return *digits = other, *exp10 = exp, 1;
    return 0;
}
/* x finite and > 0: the shortest digits * 10**exp10. A p-digit decimal is a (p+1)-digit one
   too, so "some p-digit decimal reads back" turns true once and stays: a binary search over
   p = 1..17 (17 digits always read back) asks at most 5 times, after one printf. */
static void jk_shortest(double x, uint64_t *digits, int *exp10) {
    char many[64];
    int exp40, lo = 1, hi = 17, found = 0;
    jk_printf_digits(x, 40, many, &exp40);
    while (lo < hi) {
        int mid = (lo + hi) / 2, e;
        uint64_t d;
        if (!jk_digits_for(x, mid, many, exp40, &d, &e)) lo = mid + 1;
        else hi = mid, *digits = d, *exp10 = e, found = 1;
    }
    if (!found) jk_digits_for(x, 17, many, exp40, digits, exp10);
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
/* print() writes into the call's bounded buffer; the sink shows it when the buffer is full
   and Python when the call returns. A sink whose stream raised (or a SIGINT) sets the flag:
   the code stops at its next poll, where a statement ended. */
static void jk_flush(jk_ctx *cx, const char *text, int64_t n) { cx->sink(1, text, n); }
static void jk_write(jk_ctx *cx, const char *text, int64_t n) {
    if (cx->len + n > cx->cap) {
        int64_t len = cx->len;
        cx->len = 0;
        if (len) jk_flush(cx, cx->out, len);
        if (n > cx->cap) return jk_flush(cx, text, n);
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
static void jk_print_float(jk_ctx *cx, double d) {
    char text[32];
    jk_write(cx, text, jk_float_repr(d, text));
}
/* str() of a value that is not a list (which is its repr too). */
static void jk_print_scalar(jk_ctx *cx, jk_val x) {
    if (x.t == JK_INT) jk_print_int(cx, x.v);
    else if (x.t == JK_BOOL) x.v ? jk_write(cx, "True", 4) : jk_write(cx, "False", 5);
    else if (x.t == JK_FLOAT) jk_print_float(cx, jk_double(x));
    else jk_write(cx, "None", 4);
}
/* str() of a value, as print shows it: a list as its repr, [1, 2.5, True]. */
static void jk_print(jk_ctx *cx, jk_val x) {
    if (x.t != JK_LIST) return jk_print_scalar(cx, x);
    jk_list *list = jk_list_of(x);
    jk_write(cx, "[", 1);
    for (int64_t i = 0; i < list->len; i++) {
        if (i) jk_write(cx, ", ", 2);
        jk_print_scalar(cx, list->items[i]);
    }
    jk_write(cx, "]", 1);
}
""",
}


def prelude(overrides: dict[str, str] | None = None) -> str:
    """The runtime's C text, with any helper replaced by name (an unknown name is refused)."""
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(HELPERS))
    if unknown:
        raise ValueError(f"no runtime helper named {unknown}; helpers: {', '.join(HELPERS)}")
    header = HEADER.replace("@TAGS@", c_tags()).replace("@STATUSES@", c_statuses())
    parts = [header.strip()]
    for name, text in HELPERS.items():
        parts.append(f"/* ---- {name} ---- */\n{overrides.get(name, text).strip()}")
    return "\n\n".join(parts) + "\n"
