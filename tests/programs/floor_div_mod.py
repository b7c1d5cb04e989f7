def show(a, b):
    print(a // b, a % b, -a // b, -a % b, a // -b, a % -b)


show(7, 2)
show(7, 3)
show(0, 5)
print(-7 // 2, -7 % 2, 7 % -3, -1 // 10)
# expect: 3 1 -4 1 -4 -1
# expect: 2 1 -3 2 -3 -2
# expect: 0 0 0 0 0 0
# expect: -4 1 -2 -1
