; ModuleID = '<string>'
source_filename = "<string>"

@state = global i64 5

declare i64 @external(i64)

define internal i64 @helper(i64 %n) {
entry:
  store i64 100, ptr @state, align 8
  %r = call i64 @external(i64 %n)
  %c = icmp eq i64 %r, 0
  br i1 %c, label %a, label %b

a:                                                ; preds = %entry
  ret i64 1

b:                                                ; preds = %entry
  ret i64 2
}

define internal { i8, i64 } @"py.<module>"() {
entry:
  %pe.3 = call i64 @helper(i64 3)
  %pe.4 = load i64, ptr @state, align 4
  %pe.5 = add i64 %pe.4, %pe.3
  %pe.6 = insertvalue { i8, i64 } undef, i8 0, 0
  %pe.7 = insertvalue { i8, i64 } %pe.6, i64 %pe.5, 1
  ret { i8, i64 } %pe.7
}

define i32 @main() {
entry:
  %r = call { i8, i64 } @"py.<module>"()
  ret i32 0
}
