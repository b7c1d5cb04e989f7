; ModuleID = '<string>'
source_filename = "<string>"

@seen = constant i64 42

declare i32 @getpid()

define internal { i8, i64 } @"py.<module>"() {
entry:
  %pe.1 = call i32 @getpid()
  %pe.2 = and i32 %pe.1, 1
  %pe.3 = icmp eq i32 %pe.2, 1
  br i1 %pe.3, label %yes, label %no

yes:                                              ; preds = %entry
  %y = add i64 42, 1
  %r = insertvalue { i8, i64 } zeroinitializer, i64 %y, 1
  ret { i8, i64 } %r

no:                                               ; preds = %entry
  ret { i8, i64 } zeroinitializer
}

define i32 @main() {
entry:
  %r = call { i8, i64 } @"py.<module>"()
  ret i32 0
}
