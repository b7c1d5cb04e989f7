; ModuleID = '<string>'
source_filename = "<string>"

@LIMIT.tag = internal constant i8 0
@LIMIT.value = internal constant i64 1000
@STAMP.tag = internal constant i8 0
@STAMP.value = internal global i64 0
@N.tag = internal constant i8 4
@N.value = internal constant i64 0

declare i64 @clock()

define internal { i8, i64 } @total(i8 %tag, i64 %n) {
entry:
  %t = load i8, ptr @LIMIT.tag, align 1
  %bound = icmp ne i8 %t, 4
  br i1 %bound, label %ok, label %fail

ok:                                               ; preds = %entry
  %v = load i64, ptr @LIMIT.value, align 8
  %s = add i64 %n, %v
  %r = insertvalue { i8, i64 } zeroinitializer, i64 %s, 1
  ret { i8, i64 } %r

fail:                                             ; preds = %entry
  ret { i8, i64 } { i8 3, i64 7 }
}

define internal { i8, i64 } @late() {
entry:
  %t = load i8, ptr @N.tag, align 1
  %bound = icmp ne i8 %t, 4
  br i1 %bound, label %ok, label %fail

ok:                                               ; preds = %entry
  %v = load i64, ptr @N.value, align 8
  %r = insertvalue { i8, i64 } zeroinitializer, i64 %v, 1
  ret { i8, i64 } %r

fail:                                             ; preds = %entry
  ret { i8, i64 } { i8 3, i64 8 }
}

define internal { i8, i64 } @"py.<module>"() {
entry:
  %pe.1 = call i64 @clock()
  store i64 %pe.1, ptr @STAMP.value, align 4
  ret { i8, i64 } { i8 0, i64 1024 }
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
