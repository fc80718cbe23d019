/* fileio.c: file-system and fd syscalls in one process, checked against Linux semantics. Usage: fileio SCRATCHDIR */
#include "guest.h"

#include <sys/mman.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>

#define BAD_PTR ((void *)0x10)

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Fills buf with a pattern that depends on the absolute file offset, so misplaced bytes show. */
static void pattern(unsigned char *buf, size_t n, off_t off)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)((off + (off_t)i) * 131 + 7);
}

static void test_basic_rw(void)
{
	char buf[64];
	int fd = open("a.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);

	check(fd >= 0, "open O_CREAT a.txt");
	check(write(fd, "hello, world\n", 13) == 13, "write 13 bytes");
	check(lseek(fd, 0, SEEK_CUR) == 13, "lseek SEEK_CUR after write is 13");
	check(lseek(fd, 0, SEEK_SET) == 0, "lseek SEEK_SET 0");
	memset(buf, 0, sizeof(buf));
	check(read(fd, buf, sizeof(buf)) == 13 && !memcmp(buf, "hello, world\n", 13), "read back");
	check(read(fd, buf, sizeof(buf)) == 0, "read at EOF returns 0");
	check(lseek(fd, -6, SEEK_END) == 7, "lseek SEEK_END -6");
	check(read(fd, buf, 5) == 5 && !memcmp(buf, "world", 5), "read after SEEK_END");
	CHECK_ERR(lseek(fd, -100, SEEK_SET), EINVAL, "lseek to negative offset");
	CHECK_ERR(lseek(fd, 0, 42), EINVAL, "lseek bad whence");

	/* pwrite/pread do not move the file offset. */
	off_t before = lseek(fd, 0, SEEK_CUR);
	check(pwrite(fd, "HELLO", 5, 0) == 5, "pwrite at 0");
	check(lseek(fd, 0, SEEK_CUR) == before, "pwrite keeps offset");
	memset(buf, 0, sizeof(buf));
	check(pread(fd, buf, 13, 0) == 13 && !memcmp(buf, "HELLO, world\n", 13), "pread sees pwrite");
	check(lseek(fd, 0, SEEK_CUR) == before, "pread keeps offset");
	CHECK_ERR(pread(fd, buf, 1, -1), EINVAL, "pread negative offset");

	/* Writing past EOF leaves a zero-filled hole. */
	check(pwrite(fd, "Z", 1, 100) == 1, "pwrite at 100 extends file");
	struct stat st;
	check(fstat(fd, &st) == 0 && st.st_size == 101, "fstat size 101 (got %lld)", (long long)st.st_size);
	check(S_ISREG(st.st_mode), "fstat S_ISREG");
	memset(buf, 1, sizeof(buf));
	check(pread(fd, buf, 10, 50) == 10 && !memcmp(buf, "\0\0\0\0\0\0\0\0\0\0", 10), "hole reads as zeros");

	/* readv/writev */
	struct iovec iov[3] = { { "ab", 2 }, { "", 0 }, { "cdef", 4 } };
	check(lseek(fd, 0, SEEK_SET) == 0, "rewind");
	check(writev(fd, iov, 3) == 6, "writev 6 bytes");
	char x[3], y[3];
	struct iovec riov[2] = { { x, 3 }, { y, 3 } };
	check(lseek(fd, 0, SEEK_SET) == 0, "rewind again");
	check(readv(fd, riov, 2) == 6 && !memcmp(x, "abc", 3) && !memcmp(y, "def", 3), "readv scatters");
	CHECK_ERR(syscall(SYS_readv, fd, riov, -1), EINVAL, "readv negative iovcnt");
	check(pwritev(fd, iov, 3, 200) == 6, "pwritev at 200");
	check(preadv(fd, riov, 2, 200) == 6 && !memcmp(x, "abc", 3), "preadv at 200");

	/* ftruncate shrink and grow */
	check(ftruncate(fd, 5) == 0, "ftruncate 5");
	check(fstat(fd, &st) == 0 && st.st_size == 5, "size now 5");
	check(ftruncate(fd, 4096) == 0 && fstat(fd, &st) == 0 && st.st_size == 4096, "ftruncate grow 4096");
	check(pread(fd, buf, 8, 5) == 8 && !memcmp(buf, "\0\0\0\0\0\0\0\0", 8), "grown part is zero");
	CHECK_ERR(ftruncate(fd, -1), EINVAL, "ftruncate negative");
	check(fsync(fd) == 0, "fsync");
	check(fdatasync(fd) == 0, "fdatasync");

	/* Bad buffers give EFAULT, not a crash. */
	CHECK_ERR(syscall(SYS_write, fd, BAD_PTR, 10), EFAULT, "write from bad pointer");
	check(lseek(fd, 0, SEEK_SET) == 0, "rewind for bad read");
	CHECK_ERR(syscall(SYS_read, fd, BAD_PTR, 10), EFAULT, "read into bad pointer");
	CHECK_ERR(syscall(SYS_fstat, fd, BAD_PTR), EFAULT, "fstat into bad pointer");
	check(close(fd) == 0, "close");
	CHECK_ERR(close(fd), EBADF, "close twice");
	CHECK_ERR(read(fd, buf, 1), EBADF, "read closed fd");
	CHECK_ERR(write(9999, "x", 1), EBADF, "write fd 9999");

	/* O_APPEND always writes at the end. */
	fd = open("a.txt", O_WRONLY | O_APPEND);
	check(fd >= 0, "open O_APPEND");
	check(lseek(fd, 0, SEEK_SET) == 0 && write(fd, "END", 3) == 3, "append write");
	check(fstat(fd, &st) == 0 && st.st_size == 4099, "append went to the end");
	CHECK_ERR(read(fd, buf, 1), EBADF, "read on O_WRONLY fd");
	close(fd);
	fd = open("a.txt", O_RDONLY);
	CHECK_ERR(write(fd, "x", 1), EBADF, "write on O_RDONLY fd");
	close(fd);

	CHECK_ERR(open("a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST, "O_EXCL on existing file");
	CHECK_ERR(open("missing.txt", O_RDONLY), ENOENT, "open missing file");
	CHECK_ERR(open("a.txt/x", O_RDONLY), ENOTDIR, "path through a file");
	CHECK_ERR(open(".", O_WRONLY), EISDIR, "open directory for writing");
	CHECK_ERR(syscall(SYS_open, BAD_PTR, O_RDONLY), EFAULT, "open with bad path pointer");
	CHECK_ERR(open("", O_RDONLY), ENOENT, "open empty path");
}

/* Big file: write 1 MiB in odd-sized chunks at scattered offsets, read back in other chunk sizes. */
static void test_big_file(void)
{
	const size_t size = 1 << 20;
	unsigned char *w = malloc(size), *r = malloc(size);
	int fd = open("big.bin", O_CREAT | O_RDWR | O_TRUNC, 0600);
	int ok = 1;

	check(fd >= 0 && w && r, "open big.bin");
	pattern(w, size, 0);
	/* back to front in 12345-byte pieces */
	for (off_t off = ((off_t)size / 12345) * 12345; off >= 0; off -= 12345) {
		size_t n = size - (size_t)off < 12345 ? size - (size_t)off : 12345;
		if (pwrite(fd, w + off, n, off) != (ssize_t)n)
			ok = 0;
	}
	check(ok, "pwrite 1 MiB back to front");
	struct stat st;
	check(fstat(fd, &st) == 0 && st.st_size == (off_t)size, "big.bin size 1 MiB");
	check(lseek(fd, 0, SEEK_SET) == 0, "rewind big.bin");
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, r + got, size - got < 7777 ? size - got : 7777);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	check(got == size && !memcmp(w, r, size), "sequential read back matches (%zu bytes)", got);
	memset(r, 0, 4096);
	check(pread(fd, r, 4096, 500000) == 4096 && !memcmp(r, w + 500000, 4096), "pread in the middle");
	close(fd);
	check(unlink("big.bin") == 0, "unlink big.bin");
	free(w);
	free(r);
}

static void test_stat_family(void)
{
	struct stat st, st2;
	struct statx sx;

	check(stat("a.txt", &st) == 0 && st.st_size == 4099, "stat a.txt");
	check(fstatat(AT_FDCWD, "a.txt", &st2, 0) == 0 && st2.st_ino == st.st_ino, "newfstatat same inode");
	check(symlink("a.txt", "link") == 0, "symlink link -> a.txt");
	check(lstat("link", &st2) == 0 && S_ISLNK(st2.st_mode), "lstat sees a symlink");
	check(fstatat(AT_FDCWD, "link", &st2, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st2.st_mode),
	      "fstatat AT_SYMLINK_NOFOLLOW");
	check(stat("link", &st2) == 0 && st2.st_ino == st.st_ino, "stat follows the symlink");
	CHECK_ERR(fstatat(AT_FDCWD, "a.txt", &st2, 0x12345678), EINVAL, "fstatat bad flags");
	CHECK_ERR(stat("nope", &st2), ENOENT, "stat missing");
	memset(&sx, 0, sizeof(sx));
	check(statx(AT_FDCWD, "a.txt", 0, STATX_BASIC_STATS, &sx) == 0 && sx.stx_size == 4099 &&
	      sx.stx_ino == st.st_ino && (sx.stx_mask & STATX_SIZE), "statx size/ino");
	int fd = open("a.txt", O_RDONLY);
	check(statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx) == 0 && sx.stx_size == 4099, "statx AT_EMPTY_PATH");
	check(fstatat(fd, "", &st2, AT_EMPTY_PATH) == 0 && st2.st_ino == st.st_ino, "fstatat AT_EMPTY_PATH");
	close(fd);

	char buf[PATH_MAX];
	ssize_t n = readlink("link", buf, sizeof(buf));
	check(n == 5 && !memcmp(buf, "a.txt", 5), "readlink");
	check(readlink("link", buf, 2) == 2 && !memcmp(buf, "a.", 2), "readlink truncates");
	CHECK_ERR(readlink("a.txt", buf, sizeof(buf)), EINVAL, "readlink on a regular file");
	check(readlinkat(AT_FDCWD, "link", buf, sizeof(buf)) == 5, "readlinkat");

	check(access("a.txt", F_OK) == 0, "access F_OK");
	check(access("a.txt", R_OK | W_OK) == 0, "access R_OK|W_OK");
	CHECK_ERR(access("nope", F_OK), ENOENT, "access missing");
	CHECK_ERR(access("a.txt", 0x40), EINVAL, "access bad mode");
	check(faccessat(AT_FDCWD, "a.txt", R_OK, 0) == 0, "faccessat");
	check(unlink("link") == 0, "unlink symlink");
}

static void test_dirs(const char *scratch)
{
	char cwd[PATH_MAX], real[PATH_MAX];

	check(getcwd(cwd, sizeof(cwd)) != NULL && realpath(scratch, real) && !strcmp(cwd, real),
	      "getcwd == scratch dir");
	CHECK_ERR(syscall(SYS_getcwd, cwd, 1), ERANGE, "getcwd buffer too small");
	check(mkdir("d", 0755) == 0, "mkdir d");
	CHECK_ERR(mkdir("d", 0755), EEXIST, "mkdir existing");
	CHECK_ERR(mkdir("nope/sub", 0755), ENOENT, "mkdir under missing parent");
	check(mkdirat(AT_FDCWD, "d/sub", 0700) == 0, "mkdirat d/sub");
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	check(dfd >= 0, "open d O_DIRECTORY");
	CHECK_ERR(open("a.txt", O_RDONLY | O_DIRECTORY), ENOTDIR, "O_DIRECTORY on a file");

	for (int i = 0; i < 20; i++) {
		char name[32];
		snprintf(name, sizeof(name), "file%02d", i);
		int fd = openat(dfd, name, O_CREAT | O_WRONLY, 0644);
		if (fd < 0 || write(fd, name, strlen(name)) != (ssize_t)strlen(name))
			check(0, "openat/write %s", name);
		close(fd);
	}
	check(1, "created 20 files with openat");

	/* getdents64 with a small buffer so several calls are needed */
	char buf[256];
	int seen = 0, dots = 0, sub_dir = 0, ok = 1;
	for (;;) {
		long n = syscall(SYS_getdents64, dfd, buf, sizeof(buf));
		if (n < 0) {
			ok = 0;
			break;
		}
		if (n == 0)
			break;
		for (long pos = 0; pos < n;) {
			struct linux_dirent64 *d = (void *)(buf + pos);
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				dots++;
			else if (!strncmp(d->d_name, "file", 4) && d->d_type == DT_REG)
				seen++;
			else if (!strcmp(d->d_name, "sub") && d->d_type == DT_DIR)
				sub_dir++;
			if (d->d_reclen == 0 || d->d_reclen % 8) {
				ok = 0;
				break;
			}
			pos += d->d_reclen;
		}
	}
	check(ok && seen == 20 && dots == 2 && sub_dir == 1,
	      "getdents64 lists 20 files, sub and . .. (files %d dots %d sub %d)", seen, dots, sub_dir);
	check(lseek(dfd, 0, SEEK_SET) == 0, "rewind directory");
	CHECK_ERR(syscall(SYS_getdents64, dfd, buf, 1), EINVAL, "getdents64 buffer too small");
	int ffd = open("a.txt", O_RDONLY);
	CHECK_ERR(syscall(SYS_getdents64, ffd, buf, sizeof(buf)), ENOTDIR, "getdents64 on a file");
	close(ffd);

	/* readdir via libc must agree */
	DIR *dir = opendir("d");
	int count = 0;
	for (struct dirent *e; dir && (e = readdir(dir));)
		count++;
	check(dir && count == 23, "readdir sees 23 entries (got %d)", count);
	if (dir)
		closedir(dir);

	/* rename, renameat */
	check(renameat(dfd, "file00", dfd, "renamed") == 0, "renameat file00 -> renamed");
	CHECK_ERR(faccessat(dfd, "file00", F_OK, 0), ENOENT, "old name gone");
	check(faccessat(dfd, "renamed", F_OK, 0) == 0, "new name present");
	check(rename("d/file01", "d/renamed") == 0, "rename over existing file");
	int fd = openat(dfd, "renamed", O_RDONLY);
	check(fd >= 0 && read(fd, buf, 6) == 6 && !memcmp(buf, "file01", 6), "rename replaced content");
	close(fd);
	CHECK_ERR(rename("d/nope", "d/x"), ENOENT, "rename missing");

	/* unlink / rmdir errors */
	CHECK_ERR(rmdir("d"), ENOTEMPTY, "rmdir non-empty");
	CHECK_ERR(unlink("d/sub"), EISDIR, "unlink a directory");
	CHECK_ERR(unlinkat(dfd, "renamed", AT_REMOVEDIR), ENOTDIR, "unlinkat AT_REMOVEDIR on a file");
	check(unlinkat(dfd, "sub", AT_REMOVEDIR) == 0, "unlinkat AT_REMOVEDIR sub");
	int all = 1;
	for (int i = 2; i < 20; i++) {
		char name[32];
		snprintf(name, sizeof(name), "file%02d", i);
		if (unlinkat(dfd, name, 0))
			all = 0;
	}
	check(all && unlinkat(dfd, "renamed", 0) == 0, "unlinkat all files");

	/* fchdir / chdir */
	check(fchdir(dfd) == 0, "fchdir d");
	check(getcwd(cwd, sizeof(cwd)) && strlen(cwd) > 2 && !strcmp(cwd + strlen(cwd) - 2, "/d"), "getcwd ends in /d");
	check(chdir("..") == 0, "chdir ..");
	check(getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, real), "back in scratch");
	CHECK_ERR(chdir("a.txt"), ENOTDIR, "chdir to a file");
	CHECK_ERR(chdir("nope"), ENOENT, "chdir missing");
	close(dfd);
	check(rmdir("d") == 0, "rmdir d");

	/* umask */
	mode_t old = umask(027);
	check(umask(old) == 027, "umask round trip");
	umask(077);
	fd = open("masked", O_CREAT | O_WRONLY, 0666);
	struct stat st;
	check(fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600, "umask 077 applied (mode %o)",
	      st.st_mode & 0777);
	close(fd);
	umask(old);
	unlink("masked");
}

static void test_fcntl_dup_pipe(void)
{
	int fd = open("a.txt", O_RDWR | O_CLOEXEC);
	check(fd >= 0, "open O_CLOEXEC");
	check(fcntl(fd, F_GETFD) == FD_CLOEXEC, "F_GETFD shows FD_CLOEXEC");
	check(fcntl(fd, F_SETFD, 0) == 0 && fcntl(fd, F_GETFD) == 0, "F_SETFD clears cloexec");
	int fl = fcntl(fd, F_GETFL);
	check(fl >= 0 && (fl & O_ACCMODE) == O_RDWR && !(fl & O_APPEND), "F_GETFL O_RDWR");
	check(fcntl(fd, F_SETFL, fl | O_APPEND | O_NONBLOCK) == 0, "F_SETFL O_APPEND|O_NONBLOCK");
	fl = fcntl(fd, F_GETFL);
	check((fl & O_APPEND) && (fl & O_NONBLOCK) && (fl & O_ACCMODE) == O_RDWR, "F_GETFL sees new flags");

	int d = fcntl(fd, F_DUPFD, 50);
	check(d >= 50, "F_DUPFD >= 50 (got %d)", d);
	check(fcntl(d, F_GETFD) == 0, "F_DUPFD clears cloexec");
	int d2 = fcntl(fd, F_DUPFD_CLOEXEC, 50);
	check(d2 > 50 && fcntl(d2, F_GETFD) == FD_CLOEXEC, "F_DUPFD_CLOEXEC");
	/* duplicated fds share the file offset and status flags */
	check(lseek(fd, 7, SEEK_SET) == 7 && lseek(d, 0, SEEK_CUR) == 7, "dup shares offset");
	check(fcntl(d2, F_GETFL) & O_APPEND, "dup shares status flags");
	CHECK_ERR(fcntl(fd, 0x7fff), EINVAL, "fcntl unknown cmd");
	CHECK_ERR(fcntl(9999, F_GETFD), EBADF, "fcntl bad fd");
	close(d);
	close(d2);

	int e = dup(fd);
	check(e >= 0 && e != fd, "dup");
	check(dup2(fd, 60) == 60, "dup2 to 60");
	check(dup2(60, 60) == 60, "dup2 same fd returns it");
	CHECK_ERR(dup3(60, 60, 0), EINVAL, "dup3 same fd");
	check(dup3(fd, 61, O_CLOEXEC) == 61 && fcntl(61, F_GETFD) == FD_CLOEXEC, "dup3 O_CLOEXEC");
	CHECK_ERR(dup3(fd, 62, 0x1234), EINVAL, "dup3 bad flags");
	CHECK_ERR(dup2(9999, 63), EBADF, "dup2 bad oldfd");
	close(e);
	close(60);
	close(61);
	close(fd);

	int p[2];
	check(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0, "pipe2");
	check(fcntl(p[0], F_GETFD) == FD_CLOEXEC && (fcntl(p[1], F_GETFL) & O_NONBLOCK), "pipe2 flags applied");
	char buf[16];
	CHECK_ERR(read(p[0], buf, sizeof(buf)), EAGAIN, "empty non-blocking pipe read");
	check(write(p[1], "pipe!", 5) == 5, "pipe write");
	check(read(p[0], buf, sizeof(buf)) == 5 && !memcmp(buf, "pipe!", 5), "pipe read");
	struct stat st;
	check(fstat(p[0], &st) == 0 && S_ISFIFO(st.st_mode), "pipe is a FIFO");
	CHECK_ERR(lseek(p[0], 0, SEEK_SET), ESPIPE, "lseek on a pipe");
	CHECK_ERR(ioctl(p[0], TCGETS, &(struct termios){ 0 }), ENOTTY, "TCGETS on a pipe");
	close(p[1]);
	check(read(p[0], buf, sizeof(buf)) == 0, "read after writer closed is EOF");
	close(p[0]);
	CHECK_ERR(pipe2(p, 0x1234), EINVAL, "pipe2 bad flags");
	CHECK_ERR(syscall(SYS_pipe2, BAD_PTR, 0), EFAULT, "pipe2 bad pointer");

	/* A blocking pipe's status flags are what the program set, whatever
	 * a VMM does underneath; switching O_NONBLOCK on and off takes. */
	check(pipe(p) == 0, "pipe");
	check(!(fcntl(p[0], F_GETFL) & O_NONBLOCK) && !(fcntl(p[1], F_GETFL) & O_NONBLOCK), "pipe() ends are blocking");
	check(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0 && (fcntl(p[0], F_GETFL) & O_NONBLOCK), "F_SETFL O_NONBLOCK on a pipe");
	CHECK_ERR(read(p[0], buf, sizeof(buf)), EAGAIN, "empty pipe read after F_SETFL O_NONBLOCK");
	check(fcntl(p[0], F_SETFL, 0) == 0 && !(fcntl(p[0], F_GETFL) & O_NONBLOCK), "F_SETFL 0 clears O_NONBLOCK");
	int on = 1;
	check(ioctl(p[1], FIONBIO, &on) == 0 && (fcntl(p[1], F_GETFL) & O_NONBLOCK), "FIONBIO 1 on a pipe");
	on = 0;
	check(ioctl(p[1], FIONBIO, &on) == 0 && !(fcntl(p[1], F_GETFL) & O_NONBLOCK), "FIONBIO 0 on a pipe");
	/* A blocking write larger than the pipe goes on until a reader took it all. */
	static char big[256 * 1024];
	memset(big, 'b', sizeof(big));
	pid_t kid = fork();
	if (kid == 0) {
		close(p[0]);
		_exit(write(p[1], big, sizeof(big)) == (ssize_t)sizeof(big) ? 0 : 1);
	}
	close(p[1]);
	size_t got = 0;
	ssize_t n;
	int all_b = 1;
	while ((n = read(p[0], buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			all_b &= buf[i] == 'b';
		got += (size_t)n;
	}
	int ws = -1;
	waitpid(kid, &ws, 0);
	check(got == sizeof(big) && all_b && WIFEXITED(ws) && WEXITSTATUS(ws) == 0,
	      "blocking 256 KiB pipe write read in 16-byte pieces: %zu bytes, writer status %d", got, ws);
	close(p[0]);
}

/* The memory devices, read in place into guest memory: whole pages, a page
 * that is not there (the bytes before it count), writes that fail. */
static void test_memdevs(void)
{
	char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int z = open("/dev/zero", O_RDONLY), u = open("/dev/urandom", O_RDONLY), f = open("/dev/full", O_WRONLY);
	check(m != MAP_FAILED && z >= 0 && u >= 0 && f >= 0, "open /dev/zero, /dev/urandom, /dev/full");
	memset(m, 0xaa, 3 * 4096);
	ssize_t n = read(z, m + 100, 2 * 4096);
	int zero = 1;
	for (int i = 100; i < 100 + 2 * 4096; i++)
		zero &= m[i] == 0;
	check(n == 2 * 4096 && zero && (unsigned char)m[99] == 0xaa && (unsigned char)m[100 + 2 * 4096] == 0xaa,
	      "read /dev/zero across pages: %zd bytes, all zero, nothing around them", n);
	mprotect(m + 2 * 4096, 4096, PROT_NONE);
	check(read(z, m + 4096, 2 * 4096) == 4096, "read /dev/zero into a buffer whose second page is gone: 4096");
	CHECK_ERR(read(z, m + 2 * 4096, 10), EFAULT, "read /dev/zero into a page that is gone");
	memset(m, 0, 4096);
	n = read(u, m, 4096);
	int nz = 0;
	for (int i = 0; i < 4096; i++)
		nz += m[i] != 0;
	check(n == 4096 && nz > 3000, "read /dev/urandom: %zd bytes, %d not zero", n, nz);
	CHECK_ERR(write(f, m, 10), ENOSPC, "write /dev/full");
	close(z);
	close(u);
	close(f);
	munmap(m, 3 * 4096);
}

static void test_tty(void)
{
	int fd = open("a.txt", O_RDONLY);
	struct termios t;
	struct winsize ws;

	CHECK_ERR(ioctl(fd, TCGETS, &t), ENOTTY, "TCGETS on a regular file");
	CHECK_ERR(ioctl(fd, TIOCGWINSZ, &ws), ENOTTY, "TIOCGWINSZ on a regular file");
	check(!isatty(fd) && errno == ENOTTY, "isatty(file) is 0 with ENOTTY");
	close(fd);
	fd = open("/dev/null", O_RDWR);
	check(fd >= 0, "open /dev/null");
	CHECK_ERR(ioctl(fd, TCGETS, &t), ENOTTY, "TCGETS on /dev/null");
	check(write(fd, "x", 1) == 1 && read(fd, &t, 1) == 0, "/dev/null write/read");
	close(fd);
	test_memdevs();
	/* stdio: whatever they are, TCGETS and TIOCGWINSZ must agree with isatty */
	for (int i = 0; i < 3; i++) {
		int tty = isatty(i);
		errno = 0;
		int r = ioctl(i, TIOCGWINSZ, &ws);
		check(tty ? r == 0 : (r == -1 && (errno == ENOTTY || errno == EBADF)),
		      "fd %d: isatty %d agrees with TIOCGWINSZ %d", i, tty, r);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fileio SCRATCHDIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	check(chdir(argv[1]) == 0, "chdir to scratch %s", argv[1]);
	umask(022);
	test_basic_rw();
	test_big_file();
	test_stat_family();
	test_dirs(argv[1]);
	test_fcntl_dup_pipe();
	test_tty();
	unlink("a.txt");
	return done_testing();
}
