/* The benchmark kernels of kernels.py in C, for gcc -O2: the native yardstick.
   int64_t throughout; C's / and % truncate, which agrees with Python's floor here because
   every operand is non-negative. */
#include <stdint.h>

int64_t fib(int64_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int64_t sum_loop(int64_t n) {
    int64_t s = 0;
    for (int64_t i = 0; i < n; i++) s += i * i % 7;
    return s;
}

static int64_t gcd(int64_t a, int64_t b) {
    while (b) { int64_t t = a % b; a = b; b = t; }
    return a;
}

int64_t gcd_sum(int64_t n) {
    int64_t s = 0;
    for (int64_t i = 1; i < n; i++) s += gcd(n, i) + gcd(i, 1000);
    return s;
}

int64_t collatz(int64_t n) {
    int64_t longest = 0;
    for (int64_t start = 1; start < n; start++) {
        int64_t steps = 0, x = start;
        while (x != 1) { x = (x % 2 == 0) ? x / 2 : 3 * x + 1; steps++; }
        if (steps > longest) longest = steps;
    }
    return longest;
}

int64_t count_primes(int64_t n) {
    int64_t count = 0;
    for (int64_t c = 2; c < n; c++) {
        int prime = 1;
        for (int64_t d = 2; d * d <= c; d++) if (c % d == 0) { prime = 0; break; }
        count += prime;
    }
    return count;
}
