def noisy(n):
    print("n is", n, sep="=", end=";\n")
    return n


print()
print("a", "b", sep="")
print(1, True, False, "x", end="")
print(" | ", noisy(3), sep="")
print(noisy(None), "end", sep="-")
# expect:
# expect: ab
# expect: 1 True False xn is=3;
# expect:  | 3
# expect: n is=None;
# expect: None-end
