# features: globals
RATE = 3


def cost(n):
    return n * RATE


first = cost(10)
RATE = 4
second = cost(10)
RATE += 1
third = cost(10)
RATE, other = 0 - RATE, RATE
print(first, second, third, cost(10), other)
RATE = None
print(cost(10))
# expect: 30 40 50 -50 5
# expect error: TypeError: unsupported operand type(s) for *: 'int' and 'NoneType'
