def fact(n):
    r = 1
    while n > 1:
        r *= n
        n -= 1
    return r


def power_mod(b, e, m):
    result = 1
    while e > 0:
        if e % 2 == 1:
            result = result * b % m
        b = b * b % m
        e //= 2
    return result


print(fact(30))
print(2**100, -(2**63) - 1, 9223372036854775807 + 1)
print(power_mod(3, 200, 1000000007), 3**200 % 1000000007)
print(fact(25) // fact(23), -fact(20) * fact(20))
# expect: 265252859812191058636308480000000
# expect: 1267650600228229401496703205376 -9223372036854775809 9223372036854775808
# expect: 136318165 136318165
# expect: 600 -5919012181389927685417441689600000000
