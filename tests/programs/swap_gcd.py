def gcd(a, b):
    while b:
        a, b = b, a % b
    return a


def rotate(x, y, z):
    x, y, z = y, z, x
    return x * 100 + y * 10 + z


def collatz(n):
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


a, b = 3, 4
a, a = a, b
print(gcd(48, 18), gcd(17, 5), gcd(0, 9), rotate(1, 2, 3), a, b, collatz(27))
# expect: 6 1 9 231 4 4 111
