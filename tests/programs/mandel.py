# features: floats
def mandel(n):
    """Points of an n x n grid over [-1.5, 0.5] x [-1, 1] that stay bounded for 50 steps."""
    inside = 0
    for y in range(n):
        ci = 2.0 * y / n - 1.0
        for x in range(n):
            cr = 2.0 * x / n - 1.5
            zr, zi = 0.0, 0.0
            i = 0
            while i < 50 and zr * zr + zi * zi <= 4.0:
                zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                i += 1
            if i == 50:
                inside += 1
    return inside


def escape(cr, ci):
    zr, zi = 0.0, 0.0
    for i in range(100):
        if zr * zr + zi * zi > 4:
            return i
        zr, zi = zr * zr - zi * zi + cr, 2 * zr * zi + ci
    return -1


print(mandel(1), mandel(8), mandel(24))
print(escape(0.5, 0.5), escape(-1, 0), escape(0.3, -0.5), escape(2, 2))
# expect: 0 27 231
# expect: 5 -1 -1 1
