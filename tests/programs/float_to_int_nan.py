# features: floats
def truncate(x):
    return int(x)


print(truncate(2.5), truncate(-0.5), truncate(1e300) > 10**299)
print(truncate(float("nan")))
# expect: 2 0 True
# expect error: ValueError: cannot convert float NaN to integer
