def maybe(flag):
    if flag:
        x = 1
    return x


print(maybe(True))
print(maybe(False))
# expect: 1
# expect error: UnboundLocalError: cannot access local variable 'x' where it is not associated with a value
