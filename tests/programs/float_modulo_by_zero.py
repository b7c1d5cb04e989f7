# features: floats
def wrap(a, b):
    return a % b


print(wrap(7.5, 2), wrap(-7.5, 2.0))
print(wrap(7.5, 0.0))
# expect: 1.5 0.5
# expect error: ZeroDivisionError: *
