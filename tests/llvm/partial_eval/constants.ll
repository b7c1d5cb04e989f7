; The init computes with a call, a loop (phis), the overflow intrinsic, an alloca,
; a byte array and a switch: everything known, so it leaves globals and one write.
@counter = global i64 0
@limit = global i64 10
@table = internal global [4 x i8] zeroinitializer
@str.0 = private unnamed_addr constant [3 x i8] c"hi\0A"

declare void @jk_write(ptr, i64, i32)

declare { i64, i1 } @llvm.sadd.with.overflow.i64(i64, i64)

define internal { i8, i64 } @sum(i8 %tag, i64 %n) {
entry:
  br label %loop

loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %acc = phi i64 [ 0, %entry ], [ %acc2, %loop ]
  %r = call { i64, i1 } @llvm.sadd.with.overflow.i64(i64 %acc, i64 %i)
  %acc2 = extractvalue { i64, i1 } %r, 0
  %next = add i64 %i, 1
  %more = icmp slt i64 %next, %n
  br i1 %more, label %loop, label %done

done:
  %pair = insertvalue { i8, i64 } undef, i8 0, 0
  %pair2 = insertvalue { i8, i64 } %pair, i64 %acc2, 1
  ret { i8, i64 } %pair2
}

define internal { i8, i64 } @"py.<module>"() {
entry:
  %slot = alloca i64, align 8
  call void @jk_write(ptr @str.0, i64 3, i32 1)
  %lim = load i64, ptr @limit, align 8
  %s = call { i8, i64 } @sum(i8 0, i64 %lim)
  %v = extractvalue { i8, i64 } %s, 1
  store i64 %v, ptr %slot, align 8
  %w = load i64, ptr %slot, align 8
  store i64 %w, ptr @counter, align 8
  %b = trunc i64 %w to i8
  %p = getelementptr [4 x i8], ptr @table, i64 0, i64 2
  store i8 %b, ptr %p, align 1
  %neg = sub i64 0, %w
  %big = icmp sgt i64 %neg, %w
  %m = select i1 %big, i64 %neg, i64 %w
  switch i64 %m, label %other [
    i64 45, label %hit
  ]

hit:
  call void @jk_write(ptr @str.0, i64 3, i32 1)
  ret { i8, i64 } { i8 0, i64 1 }

other:
  ret { i8, i64 } { i8 0, i64 2 }
}

define i32 @main() {
entry:
  %r = call { i8, i64 } @"py.<module>"()
  ret i32 0
}
