# features: floats
inf = float("inf")
nan = float("nan")
print(inf, -inf, nan, -nan, inf - inf, inf * 0, 1e308 * 10, -1e308 * 10)
print(nan == nan, nan != nan, nan < 1, nan >= nan, 1 < nan, inf > 10**400, -inf < -(10**400))
print(1 < inf < nan, inf == inf, inf == float("inf"), 0.0 == -0.0, abs(-inf))
print(min(nan, 1.0), min(1.0, nan), max(nan, 2), max(2, nan), min(inf, 10**40))
print(not nan, nan if nan else 0, 1e-320, 5e-324, 5e-324 / 2, 2.2250738585072014e-308)
print(float(2**1023), 2.0**-1074, 1e22, 1e23, 9007199254740993.0, 0.1 * 3)
print(int(-inf))
# expect: inf -inf nan nan nan nan inf -inf
# expect: False True False False False True True
# expect: False True True True inf
# expect: nan 1.0 nan 2 10000000000000000000000000000000000000000
# expect: False nan 1e-320 5e-324 0.0 2.2250738585072014e-308
# expect: 8.98846567431158e+307 5e-324 1e+22 1e+23 9007199254740992.0 0.30000000000000004
# expect error: OverflowError: cannot convert float infinity to integer
