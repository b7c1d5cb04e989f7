# The benchmark kernels, in the kit's Python subset: every tier runs exactly this source.
# Each kernel takes one size argument (jitkit.bench.SIZES); kernels.c holds the same
# functions in C for gcc -O2.


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def sum_loop(n):
    s = 0
    for i in range(n):
        s += i * i % 7
    return s


def gcd(a, b):
    while b:
        a, b = b, a % b
    return a


def gcd_sum(n):
    s = 0
    for i in range(1, n):
        s += gcd(n, i) + gcd(i, 1000)
    return s


def collatz(n):
    longest = 0
    for start in range(1, n):
        steps = 0
        x = start
        while x != 1:
            if x % 2 == 0:
                x = x // 2
            else:
                x = 3 * x + 1
            steps += 1
        longest = max(longest, steps)
    return longest


def count_primes(n):
    count = 0
    for candidate in range(2, n):
        d = 2
        prime = True
        while d * d <= candidate:
            if candidate % d == 0:
                prime = False
                break
            d += 1
        if prime:
            count += 1
    return count
