/* procmem.c: /proc/PID/mem as gdb uses it — pread/pwrite at an address, the file position, a write into read-only text, EIO and short counts at unmapped pages, another process's memory, and (in a domain) no way through an O_PATH fd to the VMM's own memory. */
#include "guest.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>

static volatile long value = 0x1234;
static const long rodata = 0x5678;

/* An O_PATH fd of /proc/self/mem or maps, reopened through /proc/self/fd,
 * must give this process's own memory or map, or nothing. */
static void reopen_is_own(const char *path)
{
	int pfd = open(path, O_PATH);
	char link[64];
	if (pfd < 0) {
		check(1, "O_PATH %s: refused", path);
		return;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", pfd);
	int fd = open(link, O_RDONLY);
	int own = 1;
	if (fd >= 0 && strstr(path, "mem")) {
		long v = 0;
		own = pread(fd, &v, sizeof(v), (off_t)(uintptr_t)&value) == sizeof(v) && v == value;
	} else if (fd >= 0) {
		static char buf[65536];
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		own = n > 0 && strstr(buf, "procmem") != NULL;
	}
	check(own, "%s reopened through its O_PATH fd: %s", path, fd < 0 ? "refused" : "our own");
	if (fd >= 0)
		close(fd);
	close(pfd);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "reopen")) {
		reopen_is_own("/proc/self/mem");
		reopen_is_own("/proc/self/maps");
		return done_testing();
	}
	int fd = open("/proc/self/mem", O_RDWR);
	check(fd >= 0, "open /proc/self/mem O_RDWR");

	long v = 0;
	check(pread(fd, &v, sizeof(v), (off_t)(uintptr_t)&value) == sizeof(v) && v == 0x1234,
	      "pread at &value reads it");
	v = 0x4321;
	check(pwrite(fd, &v, sizeof(v), (off_t)(uintptr_t)&value) == sizeof(v) && value == 0x4321,
	      "pwrite at &value changes it");
	v = 0x8765;
	check(pwrite(fd, &v, sizeof(v), (off_t)(uintptr_t)&rodata) == sizeof(v) &&
	      *(volatile const long *)&rodata == 0x8765, "pwrite into read-only data (as a breakpoint into text)");

	check(lseek(fd, (off_t)(uintptr_t)&value, SEEK_SET) == (off_t)(uintptr_t)&value &&
	      read(fd, &v, sizeof(v)) == sizeof(v) && v == 0x4321 &&
	      lseek(fd, 0, SEEK_CUR) == (off_t)(uintptr_t)&value + (off_t)sizeof(v),
	      "lseek to an address, read, the position advances");

	/* Two pages, the second unmapped: a read across them stops at it. */
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(p, 'x', 4096);
	munmap(p + 4096, 4096);
	static char buf[8192];
	ssize_t n = pread(fd, buf, 8192, (off_t)(uintptr_t)(p + 4000));
	check(n == 96 && buf[0] == 'x' && buf[95] == 'x', "a read across into an unmapped page is short");
	errno = 0;
	check(pread(fd, buf, 16, (off_t)(uintptr_t)(p + 4096)) < 0 && errno == EIO,
	      "a read of an unmapped page: EIO");
	errno = 0;
	check(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED && errno == ENODEV,
	      "mmap of /proc/self/mem: ENODEV");
	close(fd);

	errno = 0;
	check(open("/proc/self/mem", O_RDONLY | O_DIRECTORY) < 0 && errno == ENOTDIR, "O_DIRECTORY: ENOTDIR");

	/* Another process: the parent reads and writes the child's memory
	 * while the child waits, then the child sees the write. */
	int go[2], ready[2];
	check(pipe(go) == 0 && pipe(ready) == 0, "pipes");
	value = 111;
	pid_t c = fork();
	if (c == 0) {
		char b;
		value = 222;
		write(ready[1], "r", 1);
		read(go[0], &b, 1);
		_exit(value == 333 ? 0 : 1);
	}
	char b;
	read(ready[0], &b, 1);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)c);
	int cfd = open(path, O_RDWR);
	v = 0;
	check(cfd >= 0 && pread(cfd, &v, sizeof(v), (off_t)(uintptr_t)&value) == sizeof(v) && v == 222,
	      "the child's value through /proc/PID/mem");
	v = 333;
	check(pwrite(cfd, &v, sizeof(v), (off_t)(uintptr_t)&value) == sizeof(v), "write the child's value");
	write(go[1], "g", 1);
	int st = 0;
	waitpid(c, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child saw the write");
	/* Its process is gone: nothing more to read (Linux: the mm is gone). */
	check(pread(cfd, &v, sizeof(v), (off_t)(uintptr_t)&value) == 0, "after the child is reaped: reads 0 bytes");
	close(cfd);
	return done_testing();
}
