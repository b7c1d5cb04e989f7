def down(n):
    return down(n + 1)


print("start")
down(0)
# expect: start
# expect error: RecursionError: maximum recursion depth exceeded
