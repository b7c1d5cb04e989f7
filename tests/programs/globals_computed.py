# features: globals
LIMIT = 1000


def total(n):
    s = 0
    for i in range(n):
        s += i % 7
    return s + LIMIT


def count_primes(n):
    found = 0
    k = 2
    while k < n:
        d = 2
        while d * d <= k and k % d != 0:
            d += 1
        if d * d > k:
            found += 1
        k += 1
    return found


def summary():
    return TABLE_SUM - PRIMES


TABLE_SUM = total(LIMIT)
PRIMES = count_primes(LIMIT // 10)
print(TABLE_SUM, PRIMES, summary())
# expect: 3997 25 3972
