# features: floats
def ratio(a, b):
    return a / b


print(ratio(1, 4), ratio(1.0, -0.0 + 8), 0.0 / 1)
print(5.5 % 2)
print(ratio(3.0, 0))
# expect: 0.25 0.125 0.0
# expect: 1.5
# expect error: ZeroDivisionError: float division by zero
