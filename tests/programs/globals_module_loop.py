# features: globals
STEP = 0


def scaled(i):
    return i * STEP


def seen():
    return K


total = 0
for K in range(1, 5):
    STEP = K * 10
    total += scaled(K) + seen()
print(total, STEP, K)
n = 0
while n < 3:
    STEP = n
    print(scaled(100), seen())
    n += 1
for K in range(0):  # noqa: B007 - the empty loop leaves K as it was
    pass
print(seen())
# expect: 310 40 4
# expect: 0 4
# expect: 100 4
# expect: 200 4
# expect: 4
