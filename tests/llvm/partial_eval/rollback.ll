; @helper stores to @state, then branches on an external call's result: design 2
; reverts the call (its store is undone) and emits it to run at start-up; @state keeps
; the init's own store as its initializer and is dirty from then on.
@state = global i64 1

declare i64 @external(i64)

define internal i64 @helper(i64 %n) {
entry:
  store i64 100, ptr @state, align 8
  %r = call i64 @external(i64 %n)
  %c = icmp eq i64 %r, 0
  br i1 %c, label %a, label %b

a:
  ret i64 1

b:
  ret i64 2
}

define internal { i8, i64 } @"py.<module>"() {
entry:
  store i64 5, ptr @state, align 8
  %h = call i64 @helper(i64 3)
  %s = load i64, ptr @state, align 8
  %t = add i64 %s, %h
  %r = insertvalue { i8, i64 } { i8 0, i64 0 }, i64 %t, 1
  ret { i8, i64 } %r
}

define i32 @main() {
entry:
  %r = call { i8, i64 } @"py.<module>"()
  ret i32 0
}
