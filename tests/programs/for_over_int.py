# features: lists
def count(things):
    n = 0
    for _t in things:
        n += 1
    return n


print(count([1, 2, 3]), count([]))
print(count(5))
# expect: 3 0
# expect error: TypeError: 'int' object is not iterable
