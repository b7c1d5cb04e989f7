# features: lists floats
print([1, 2] * 2, 2 * [0.5], [0] * -1, [1] * True)
print([1] * 2.0)
# expect: [1, 2, 1, 2] [0.5, 0.5] [] [1]
# expect error: TypeError: can't multiply sequence by non-int of type 'float'
