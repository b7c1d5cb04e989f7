# The benchmark kernels, in the kit's Python subset: every tier runs exactly this source.
# Each kernel takes one size argument (jitkit.bench.SIZES) and gives an int; kernels.c holds
# the same functions in C for gcc -O2.


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


def mandel(n):
    inside = 0
    for y in range(n):
        ci = 2.0 * y / n - 1.0
        for x in range(n):
            cr = 2.0 * x / n - 1.5
            zr, zi = 0.0, 0.0
            i = 0
            while i < 50 and zr * zr + zi * zi <= 4.0:
                zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                i += 1
            if i == 50:
                inside += 1
    return inside


def sieve(n):
    flags = [True] * (n + 1)
    flags[0] = False
    flags[1] = False
    i = 2
    while i * i <= n:
        if flags[i]:
            for j in range(i * i, n + 1, i):
                flags[j] = False
        i += 1
    count = 0
    for f in flags:
        if f:
            count += 1
    return count
