# features: lists
def collatz(n):
    steps = [n]
    for k in steps:
        if k != 1:
            steps.append(k // 2 if k % 2 == 0 else 3 * k + 1)
    return steps


xs = [1, 2, 3]
for x in xs:
    if x < 20:
        xs.append(x * 4)
print(xs, collatz(6), len(collatz(27)))
total = 0
for row in [[1, 2], [3], []]:
    for v in row:
        if v == 2:
            continue
        total += v
    if total > 3:
        break
print(total, row, v)
empty = []
for _e in empty:
    print("never")
for i in range(3):
    for w in [i, i * 10]:
        print(w, end=",")
print()
# expect: [1, 2, 3, 4, 8, 12, 16, 32, 48, 64] [6, 3, 10, 5, 16, 8, 4, 2, 1] 112
# expect: 4 [3] 3
# expect: 0,0,1,10,2,20,
