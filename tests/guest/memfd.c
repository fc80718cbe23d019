/* memfd.c: memfd_create, its seals (F_ADD_SEALS, F_GET_SEALS), shared mappings of it and /proc/self/fd as an unprivileged program sees them, printed so that a native run and a domain's can be compared line by line. Usage: memfd DIR */
#include "guest.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#define MFD_EXEC        0x0010U
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

static void *volatile bad_ptr = (void *)8;

static void show_link(const char *what, int fd)
{
	char p[64], l[512];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(p, l, sizeof(l) - 1);
	if (n < 0)
		printf("%s: %s\n", what, errname(errno));
	else
		printf("%s: %.*s\n", what, (int)n, l);
}

static void show_stat(const char *what, int fd)
{
	struct stat st;
	if (fstat(fd, &st))
		printf("%s: %s\n", what, errname(errno));
	else
		printf("%s: mode %o size %lld nlink %ld mine %d\n", what, (unsigned)st.st_mode, (long long)st.st_size,
		       (long)st.st_nlink, st.st_uid == getuid());
}

static long mfd(const char *name, unsigned int flags)
{
	return syscall(SYS_memfd_create, name, flags);
}

int main(int argc, char **argv)
{
	long pg = sysconf(_SC_PAGESIZE);
	char b[300];

	if (argc != 2 || chdir(argv[1]))
		return 2;
	int fd = memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	show("memfd_create", fd >= 0);
	show("close-on-exec", fcntl(fd, F_GETFD));
	show("status flags", fcntl(fd, F_GETFL));
	show_stat("fstat", fd);
	show_link("link", fd);
	show("write", write(fd, "hello", 5));
	show("lseek", lseek(fd, 0, SEEK_CUR));
	memset(b, 0, sizeof(b));
	show("pread", pread(fd, b, sizeof(b), 0));
	printf("read: %s\n", b);
	show("ftruncate", ftruncate(fd, 3 * pg));
	show_stat("fstat", fd);
	show("SEEK_DATA past the data", lseek(fd, pg, SEEK_DATA));

	/* Seals. */
	show("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
	show("F_ADD_SEALS shrink", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
	show("ftruncate smaller", ftruncate(fd, pg));
	show("ftruncate larger", ftruncate(fd, 4 * pg));
	show("F_ADD_SEALS grow", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
	show("ftruncate larger again", ftruncate(fd, 5 * pg));
	show("pwrite past the end", pwrite(fd, "x", 1, 4 * pg));
	show("pwrite inside", pwrite(fd, "x", 1, 10));
	show("F_ADD_SEALS unknown", fcntl(fd, F_ADD_SEALS, 0x1000));
	show("F_GET_SEALS", fcntl(fd, F_GET_SEALS));

	/* A shared mapping: written back (msync), and it holds off F_SEAL_WRITE. */
	char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	show("mmap shared", m != MAP_FAILED);
	show("mapping sees the file", m != MAP_FAILED && !memcmp(m, "hello", 5) && m[10] == 'x');
	memcpy(m + 100, "mapped", 6);
	show("msync", msync(m, 2 * pg, MS_SYNC));
	memset(b, 0, sizeof(b));
	show("pread after msync", pread(fd, b, 6, 100));
	printf("read: %s\n", b);
	show("F_ADD_SEALS write with a shared mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	char *ro = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, 0);
	show("F_ADD_SEALS write with a read-only shared mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	munmap(ro, pg);
	/* A child's copy of the mapping writes back too. */
	pid_t c = fork();
	if (c == 0) {
		memcpy(m + 200, "child", 5);
		msync(m, pg, MS_SYNC);
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	memset(b, 0, sizeof(b));
	show("pread of the child's write", pread(fd, b, 5, 200));
	printf("read: %s\n", b);
	show("munmap", munmap(m, 2 * pg));
	memset(b, 0, sizeof(b));
	show("F_ADD_SEALS write", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	show("write when sealed", pwrite(fd, "y", 1, 0));
	show("mmap shared writable when sealed", mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) != MAP_FAILED);
	char *r2 = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, 0);
	show("mmap shared read-only when sealed", r2 != MAP_FAILED && !memcmp(r2 + 100, "mapped", 6));
	char *p2 = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	show("mmap private writable when sealed", p2 != MAP_FAILED);
	p2[0] = 'Z';
	show("the private copy's write stays private", pread(fd, b, 1, 0) == 1 && b[0] == 'h');
	show("F_ADD_SEALS seal", fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
	show("F_ADD_SEALS after the seal seal", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
	show("F_GET_SEALS", fcntl(fd, F_GET_SEALS));

	/* F_SEAL_FUTURE_WRITE, sealed before it is mapped (the usual order). */
	int fw = memfd_create("future", MFD_ALLOW_SEALING);
	show("ftruncate", ftruncate(fw, pg));
	show("F_ADD_SEALS future write", fcntl(fw, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	show("write after future write", write(fw, "a", 1));
	show("mmap shared writable after future write",
	     mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fw, 0) != MAP_FAILED);
	show("mmap shared read-only after future write", mmap(NULL, pg, PROT_READ, MAP_SHARED, fw, 0) != MAP_FAILED);

	/* A second description through /proc/self/fd: its own offset and mode. */
	snprintf(b, sizeof(b), "/proc/self/fd/%d", fd);
	int again = open(b, O_RDONLY);
	show("reopen read-only", again >= 0);
	show("its offset", lseek(again, 0, SEEK_CUR));
	memset(b, 0, sizeof(b));
	show("read", read(again, b, 5));
	printf("read: %s\n", b);
	show("write to it", write(again, "x", 1));
	show("F_GET_SEALS through it", fcntl(again, F_GET_SEALS));
	show_link("its link", again);
	int rw = memfd_create("rw", 0);
	snprintf(b, sizeof(b), "/proc/self/fd/%d", rw);
	int rdonly = open(b, O_RDONLY);
	show("F_ADD_SEALS on a read-only description", fcntl(rdonly, F_ADD_SEALS, F_SEAL_SHRINK));

	/* Without MFD_ALLOW_SEALING: sealed against sealing. */
	show("F_GET_SEALS without sealing", fcntl(rw, F_GET_SEALS));
	show("F_ADD_SEALS without sealing", fcntl(rw, F_ADD_SEALS, F_SEAL_SHRINK));
	show("close-on-exec without MFD_CLOEXEC", fcntl(rw, F_GETFD));
	int f = open("plain", O_RDWR | O_CREAT, 0600);
	show("F_ADD_SEALS on a file", fcntl(f, F_ADD_SEALS, F_SEAL_SHRINK));
	show("F_GET_SEALS on a file", fcntl(f, F_GET_SEALS));
	int pp[2];
	if (pipe(pp))
		return 2;
	show("F_GET_SEALS on a pipe", fcntl(pp[0], F_GET_SEALS));

	/* Flags and names. */
	int ne = (int)mfd("noexec", MFD_NOEXEC_SEAL);
	show_stat("MFD_NOEXEC_SEAL", ne);
	show("its seals", fcntl(ne, F_GET_SEALS));
	int ex = (int)mfd("exec", MFD_EXEC);
	show_stat("MFD_EXEC", ex);
	show("its seals", fcntl(ex, F_GET_SEALS));
	show("MFD_EXEC with MFD_NOEXEC_SEAL", mfd("x", MFD_EXEC | MFD_NOEXEC_SEAL));
	show("unknown flag", mfd("x", 0x40));
	show("huge page size without MFD_HUGETLB", mfd("x", 21U << 26));
	show("bad name pointer", mfd(bad_ptr, 0));
	memset(b, 'n', sizeof(b));
	b[249] = '\0';
	int longest = (int)mfd(b, 0);
	show("249-byte name", longest >= 0);
	show_link("its link", longest);
	b[249] = 'n';
	b[250] = '\0';
	show("250-byte name", mfd(b, 0));
	int empty = (int)mfd("", 0);
	show_link("empty name", empty);
	show("name with a slash", mfd("a/b", 0) >= 0);
	return 0;
}
