# features: lists
def loud(v):
    print("argument", v)
    return v


xs = []
xs.append(loud(1))
print(xs)
n = 7
n.append(loud(2))
# expect: argument 1
# expect: [1]
# expect error: AttributeError: 'int' object has no attribute 'append'
