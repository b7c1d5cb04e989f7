; A branch on a value known only at run time (an external call's result) stops the
; evaluation in the init itself: the residual stores what was computed and branches
; into the rest of the original code, with known values substituted.
@seen = global i64 0

declare i32 @getpid()

define internal { i8, i64 } @"py.<module>"() {
entry:
  %x = mul i64 6, 7
  store i64 %x, ptr @seen, align 8
  %pid = call i32 @getpid()
  %odd = and i32 %pid, 1
  %c = icmp eq i32 %odd, 1
  br i1 %c, label %yes, label %no

yes:
  %y = add i64 %x, 1
  %r = insertvalue { i8, i64 } { i8 0, i64 0 }, i64 %y, 1
  ret { i8, i64 } %r

no:
  ret { i8, i64 } { i8 0, i64 0 }
}

define i32 @main() {
entry:
  %r = call { i8, i64 } @"py.<module>"()
  ret i32 0
}
