def pick(a, b):
    print(a and b, a or b, not a, a if b else -1, end=";")


def in_range(x):
    return 0 <= x < 10 != x


pick(0, 5)
pick(3, 0)
pick(True, False)
print()
print(in_range(5), in_range(-1), in_range(10), 1 < 2 < 3 > 2 >= 2 == 2 != 3)
print(True + True, -True, abs(-7), min(3, -4), max(2, 9), min(True, 1), max(1, True))
print(5 and 0 or 7, 0 or 0 and 1, +5, --5)
# expect: 0 5 True 0;0 3 False -1;False True False -1;
# expect: True False False True
# expect: 2 -1 7 -4 9 True 1
# expect: 7 0 5 5
