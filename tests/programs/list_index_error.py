# features: lists
def last(xs):
    return xs[len(xs) - 1]


def at(xs, i):
    print("reading", i)
    return xs[i]


xs = [3, 1, 4]
print(last(xs), at(xs, -3), at(xs, 2), at(xs, True))
print(at(xs, 3))
print("not reached")
# expect: reading -3
# expect: reading 2
# expect: reading True
# expect: 4 3 4 1
# expect: reading 3
# expect error: IndexError: list index out of range
