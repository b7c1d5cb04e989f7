# features: globals lists
LOG = []
GRID = [[0] * 3, [0] * 3]


def record(v):
    LOG.append(v * v)
    return len(LOG)


def mark(r, c):
    row = GRID[r]
    row[c] += 1
    return GRID[r][c]


for i in range(4):
    record(i)
alias = LOG
print(record(10), LOG, alias, mark(1, 2), mark(1, 2), GRID)
LOG = [7]
print(record(1), LOG, alias)
# expect: 5 [0, 1, 4, 9, 100] [0, 1, 4, 9, 100] 1 2 [[0, 0, 0], [0, 0, 2]]
# expect: 2 [7, 1] [0, 1, 4, 9, 100]
