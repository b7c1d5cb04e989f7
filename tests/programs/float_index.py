# features: lists floats
xs = [1, 2, 3]
i = 4 / 2
print(xs[int(i)], xs[-1])
print(xs[i])
# expect: 3 3
# expect error: TypeError: list indices must be integers or slices, not float
