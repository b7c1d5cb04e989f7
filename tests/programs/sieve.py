# features: lists
def sieve(n):
    """How many primes are <= n (n >= 1), by crossing out multiples in a list of flags."""
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


def primes(n):
    flags = [True] * (n + 1)
    found = []
    for i in range(2, n + 1):
        if flags[i]:
            found.append(i)
            for j in range(i * i, n + 1, i):
                flags[j] = False
    return found


print(sieve(1), sieve(2), sieve(10), sieve(100), sieve(10000))
print(primes(50), len(primes(1000)), primes(1000)[-1])
# expect: 0 1 4 25 1229
# expect: [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47] 168 997
