# features: floats
x = 10.0
print(x**300, 2.0**-1080, 0.5**0.5)
print(x**400)
# expect: 1e+300 0.0 0.7071067811865476
# expect error: OverflowError: (34, 'Numerical result out of range')
