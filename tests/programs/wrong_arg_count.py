def two(a, b):
    return a + b


print(two(1, 2))
print(two(1))
# expect: 3
# expect error: TypeError: two() missing 1 required positional argument: 'b'
