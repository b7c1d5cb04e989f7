# features: lists
def first(xs):
    return xs[0]


print(first([7]), first([[8]]))
print(first(7))
# expect: 7 [8]
# expect error: TypeError: 'int' object is not subscriptable
