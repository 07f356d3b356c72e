// Linux file-system calls that Swift's Glibc module leaves out.
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

// renameat2(RENAME_NOREPLACE): fails with EEXIST instead of replacing `to`. Called through
// syscall(2) because glibc declares renameat2 only under _GNU_SOURCE.
static inline int cfs_rename_noreplace(const char *from, const char *to) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
}
