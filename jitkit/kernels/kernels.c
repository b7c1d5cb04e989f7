/* The benchmark kernels of kernels.py in C, for gcc -O2: the native yardstick.
   int64_t throughout; C's / and % truncate, which agrees with Python's floor here because
   every operand is non-negative. mandel's doubles are IEEE binary64 as Python's floats (no
   -ffast-math), so it counts the same points. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int64_t mandel(int64_t n) {
    int64_t inside = 0;
    for (int64_t y = 0; y < n; y++) {
        double ci = 2.0 * (double)y / (double)n - 1.0;
        for (int64_t x = 0; x < n; x++) {
            double cr = 2.0 * (double)x / (double)n - 1.5, zr = 0.0, zi = 0.0;
            int64_t i = 0;
            while (i < 50 && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                i++;
            }
            inside += i == 50;
        }
    }
    return inside;
}

int64_t sieve(int64_t n) {
    char *flags = malloc((size_t)n + 1);
    if (flags == NULL) return -1;
    memset(flags, 1, (size_t)n + 1);
    flags[0] = flags[1] = 0;
    for (int64_t i = 2; i * i <= n; i++)
        if (flags[i])
            for (int64_t j = i * i; j <= n; j += i) flags[j] = 0;
    int64_t count = 0;
    for (int64_t k = 0; k <= n; k++) count += flags[k];
    free(flags);
    return count;
}
