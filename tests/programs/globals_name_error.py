# features: globals
def late():
    return OFFSET + 1


def early(n):
    print("early", n)
    return late() * n


print("start")
print(early(2))
OFFSET = 10
# expect: start
# expect: early 2
# expect error: NameError: name 'OFFSET' is not defined
