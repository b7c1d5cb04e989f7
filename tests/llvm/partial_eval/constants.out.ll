; ModuleID = '<string>'
source_filename = "<string>"

@counter = constant i64 45
@limit = constant i64 10
@table = internal constant [4 x i8] c"\00\00-\00"
@str.0 = private unnamed_addr constant [3 x i8] c"hi\0A"
@pe.out.0 = private unnamed_addr constant [6 x i8] c"hi\0Ahi\0A"

declare void @jk_write(ptr, i64, i32)

; Function Attrs: nocallback nocreateundeforpoison nofree nosync nounwind speculatable willreturn memory(none)
declare { i64, i1 } @llvm.sadd.with.overflow.i64(i64, i64) #0

define internal { i8, i64 } @sum(i8 %tag, i64 %n) {
entry:
  br label %loop

loop:                                             ; preds = %loop, %entry
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %acc = phi i64 [ 0, %entry ], [ %acc2, %loop ]
  %r = call { i64, i1 } @llvm.sadd.with.overflow.i64(i64 %acc, i64 %i)
  %acc2 = extractvalue { i64, i1 } %r, 0
  %next = add i64 %i, 1
  %more = icmp slt i64 %next, %n
  br i1 %more, label %loop, label %done

done:                                             ; preds = %loop
  %pair = insertvalue { i8, i64 } undef, i8 0, 0
  %pair2 = insertvalue { i8, i64 } %pair, i64 %acc2, 1
  ret { i8, i64 } %pair2
}

define internal { i8, i64 } @"py.<module>"() {
entry:
  call void @jk_write(ptr @pe.out.0, i64 6, i32 1)
  ret { i8, i64 } { i8 0, i64 1 }
}

define i32 @main() {
entry:
  %r = call { i8, i64 } @"py.<module>"()
  ret i32 0
}

attributes #0 = { nocallback nocreateundeforpoison nofree nosync nounwind speculatable willreturn memory(none) }
