# features: lists
def say(v):
    print("evaluated", v)
    return v


xs = [0] * 3
xs[say(-1)] = say(9)
print(xs)
xs[say(-4)] = say(5)
# expect: evaluated 9
# expect: evaluated -1
# expect: [0, 0, 9]
# expect: evaluated 5
# expect: evaluated -4
# expect error: IndexError: list assignment index out of range
