# features: lists floats
def fill(xs, v):
    for i in range(len(xs)):
        xs[i] = v
    return xs


def grow(xs):
    xs.append(len(xs))


a = [1, 2, 3]
b = a
b[0] = 10
print(a, b, a == b)
c = fill(a, 0.5)
grow(c)
print(a, c, len(b))
grid = [[0] * 2] * 3
grid[0][1] = 7
print(grid)
rows = [[0] * 2, [0] * 2]
rows[0][0] = 1
print(rows, [] * 5, 3 * [None], [True, 2, 3.0, None, [], [[]]])
m = [a, a]
m[1].append(-1)
print(m, a[-1], a[-len(a)], [1, 2] < [1, 3], [1, 2.0] == [1.0, 2], [[1]] * 0)
x = [4, 5]
x[1] += 2
x[1] *= 3
x[0] /= 8
print(x, [0.1] * 3, [-0.0, float("inf"), float("nan")])
print(a.append(1), [1] + [2.5])
# expect: [10, 2, 3] [10, 2, 3] True
# expect: [0.5, 0.5, 0.5, 3] [0.5, 0.5, 0.5, 3] 4
# expect: [[0, 7], [0, 7], [0, 7]]
# expect: [[1, 0], [0, 0]] [] [None, None, None] [True, 2, 3.0, None, [], [[]]]
# expect: [[0.5, 0.5, 0.5, 3, -1], [0.5, 0.5, 0.5, 3, -1]] -1 0.5 True True []
# expect: [0.5, 21] [0.1, 0.1, 0.1] [-0.0, inf, nan]
# expect: None [1, 2.5]
