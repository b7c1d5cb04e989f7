def loop(step):
    s = 0
    for i in range(0, 5, step):
        s += i
    return s


print(loop(2))
print(loop(0))
# expect: 6
# expect error: ValueError: range() arg 3 must not be zero
