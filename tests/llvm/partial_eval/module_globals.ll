; Module-level names as the kit writes them (jitkit.llvm.module_globals): a tag and a payload
; global each, unbound (tag 4) at first, stored by the init, read by functions with the
; unbound check. LIMIT is computed at compile time and only loaded afterwards: it gets its
; value and becomes constant. STAMP's payload comes from an external call: dirty, so it stays
; a global and its store stays in the residual (its tag is known). N is never stored: a
; constant unbound, so late() still fails at run time with its NameError site.
@LIMIT.tag = internal global i8 4
@LIMIT.value = internal global i64 0
@STAMP.tag = internal global i8 4
@STAMP.value = internal global i64 0
@N.tag = internal global i8 4
@N.value = internal global i64 0

declare i64 @clock()

define internal { i8, i64 } @total(i8 %tag, i64 %n) {
entry:
  %t = load i8, ptr @LIMIT.tag, align 1
  %bound = icmp ne i8 %t, 4
  br i1 %bound, label %ok, label %fail

ok:
  %v = load i64, ptr @LIMIT.value, align 8
  %s = add i64 %n, %v
  %r = insertvalue { i8, i64 } { i8 0, i64 0 }, i64 %s, 1
  ret { i8, i64 } %r

fail:
  ret { i8, i64 } { i8 3, i64 7 }
}

define internal { i8, i64 } @late() {
entry:
  %t = load i8, ptr @N.tag, align 1
  %bound = icmp ne i8 %t, 4
  br i1 %bound, label %ok, label %fail

ok:
  %v = load i64, ptr @N.value, align 8
  %r = insertvalue { i8, i64 } { i8 0, i64 0 }, i64 %v, 1
  ret { i8, i64 } %r

fail:
  ret { i8, i64 } { i8 3, i64 8 }
}

define internal { i8, i64 } @"py.<module>"() {
entry:
  store i8 0, ptr @LIMIT.tag, align 1
  store i64 1000, ptr @LIMIT.value, align 8
  %sum = call { i8, i64 } @total(i8 0, i64 24)
  %now = call i64 @clock()
  store i8 0, ptr @STAMP.tag, align 1
  store i64 %now, ptr @STAMP.value, align 8
  ret { i8, i64 } %sum
}

define i32 @main() {
entry:
  %r = call { i8, i64 } @"py.<module>"()
  %t = call { i8, i64 } @total(i8 0, i64 1)
  %l = call { i8, i64 } @late()
  %s = load i64, ptr @STAMP.value, align 8
  %status = trunc i64 %s to i32
  ret i32 %status
}
