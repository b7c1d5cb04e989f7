# features: globals
COUNT = 5


def shadowed(n):
    COUNT = n * 2
    return COUNT


def reads():
    return COUNT


def param(COUNT):
    return COUNT + 1


def assigned_later(flag):
    if flag:
        COUNT = 1
    return COUNT


print(shadowed(4), reads(), param(9), COUNT, assigned_later(True))
print(assigned_later(False))
# expect: 8 5 10 5 1
# expect error: UnboundLocalError: cannot access local variable 'COUNT' where it is not associated with a value
