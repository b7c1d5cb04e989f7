def total(a, b, c):
    s = 0
    for i in range(a, b, c):
        s += i
    return s


for i in range(3):
    print(i, end="|")
print()
for i in range(10, 0, -3):
    print(i, end=",")
print("")
print(total(0, 10, 1), total(10, -10, -4), total(5, 5, 1), total(-3, 4, 2))
for i in range(True, 3):
    print(i)
# expect: 0|1|2|
# expect: 10,7,4,1,
# expect: 45 10 0 0
# expect: 1
# expect: 2
