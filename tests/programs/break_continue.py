def first_multiple(k, limit):
    found = -1
    for i in range(1, limit):
        if i % k != 0:
            continue
        found = i
        break
    return found


def count_down(n):
    steps = 0
    while True:
        if n <= 0:
            break
        n -= 3
        steps += 1
    return steps


print(first_multiple(7, 100), first_multiple(7, 5), count_down(10))
for i in range(4):
    for j in range(4):
        if j > i:
            break
        if (i + j) % 2:
            continue
        print(i, j, sep=":", end="/")
print()
# expect: 7 -1 4
# expect: 0:0/1:1/2:0/2:2/3:1/3:3/
