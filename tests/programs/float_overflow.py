# features: floats
def power_of_ten(n):
    p = 1
    for _i in range(n):
        p *= 10
    return p


print(float(power_of_ten(308)), power_of_ten(300) / power_of_ten(290))
print(power_of_ten(400) // 3 > 1e300, power_of_ten(400) > 1e308, 10.0**308)
print(float(power_of_ten(309)))
# expect: 1e+308 10000000000.0
# expect: True True 1e+308
# expect error: OverflowError: int too large to convert to float
