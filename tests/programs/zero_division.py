def divide(a, b):
    print("dividing", a, b)
    return a // b


print(divide(10, 3))
print(divide(1, 0))
print("not reached")
# expect: dividing 10 3
# expect: 3
# expect: dividing 1 0
# expect error: ZeroDivisionError: integer division or modulo by zero
