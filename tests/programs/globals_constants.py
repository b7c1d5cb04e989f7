# features: globals
WIDTH = 8
HEIGHT = 3
SCALE = -2


def area():
    return WIDTH * HEIGHT


def scaled(n):
    return n * SCALE + WIDTH % 5


def inside(x, y):
    return 0 <= x < WIDTH and 0 <= y < HEIGHT


print(area(), scaled(7), inside(7, 2), inside(8, 0), WIDTH, HEIGHT)
# expect: 24 -11 True False 8 3
