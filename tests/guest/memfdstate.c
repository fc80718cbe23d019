/* memfdstate.c: memfds across a snapshot — contents with a hole, seals, offsets, a second description, a shared mapping with its fd and one without — deterministic output for snapshot/restore tests. */
#include "guest.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/*
 * Usage: memfdstate N PERIOD_MS [big]
 *
 * Sets up, then prints "ready" and "tick i" N times, PERIOD_MS apart (a
 * snapshot is taken among them), then checks what a restore must have kept
 * and prints one line per check, and "done":
 *   a: "alpha", 8 MiB long, data in [0, 1 MiB) and [5 MiB, 6 MiB) (a hole
 *      between), sealed against shrinking and growing, offset 1234;
 *   b: /proc/self/fd/a opened read-only, offset 77: another description;
 *   c: "mapped", 16 KiB, shared mapping m written before the snapshot and
 *      after it (write-back goes on), fd kept;
 *   o: "orphan", a shared mapping whose fd was closed at once;
 *   e: "noexec", made with MFD_NOEXEC_SEAL.
 * "big" adds a 160 MiB memfd of data: more than an image carries.
 */

#define MIB (1024 * 1024)

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 4096 + 1);
}

static int sum_ok(int fd, off_t from, size_t n)
{
	static unsigned char buf[MIB];
	for (size_t done = 0; done < n;) {
		size_t c = n - done < sizeof(buf) ? n - done : sizeof(buf);
		if (pread(fd, buf, c, from + (off_t)done) != (ssize_t)c)
			return 0;
		for (size_t i = 0; i < c; i++)
			if (buf[i] != pattern(from + done + i))
				return 0;
		done += c;
	}
	return 1;
}

static void fill(int fd, off_t from, size_t n)
{
	static unsigned char buf[MIB];
	for (size_t done = 0; done < n; done += sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = pattern(from + done + i);
		if (pwrite(fd, buf, sizeof(buf), from + (off_t)done) != (ssize_t)sizeof(buf))
			exit(1);
	}
}

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, r);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int n = atoi(argv[1]), period = atoi(argv[2]);
	long pg = sysconf(_SC_PAGESIZE);
	char path[64], b[64];

	int a = memfd_create("alpha", MFD_ALLOW_SEALING);
	if (a < 0 || ftruncate(a, 8 * MIB))
		return 1;
	fill(a, 0, MIB);
	fill(a, 5 * MIB, MIB);
	fcntl(a, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
	lseek(a, 1234, SEEK_SET);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", a);
	int bd = open(path, O_RDONLY);
	lseek(bd, 77, SEEK_SET);
	int c = memfd_create("mapped", MFD_ALLOW_SEALING);
	if (ftruncate(c, 4 * pg))
		return 1;
	char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, c, 0);
	memcpy(m, "before", 6);
	int o = memfd_create("orphan", 0);
	if (ftruncate(o, pg))
		return 1;
	char *om = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, o, 0);
	close(o);
	memcpy(om, "orphan data", 11);
	int e = memfd_create("noexec", 8 /* MFD_NOEXEC_SEAL */);
	if (argc > 3 && !strcmp(argv[3], "big")) {
		int big = memfd_create("big", 0);
		fill(big, 0, 160 * MIB);
	}
	printf("ready\n");
	fflush(stdout);
	for (int i = 1; i <= n; i++) {
		struct timespec ts = { period / 1000, (period % 1000) * 1000000L };
		while (nanosleep(&ts, &ts))
			;
		printf("tick %d\n", i);
		fflush(stdout);
	}

	struct stat st, st2;
	fstat(a, &st);
	show("alpha size", st.st_size);
	show("alpha offset", lseek(a, 0, SEEK_CUR));
	show("alpha seals", fcntl(a, F_GET_SEALS));
	show("alpha data", sum_ok(a, 0, MIB) && sum_ok(a, 5 * MIB, MIB));
	show("alpha hole", lseek(a, MIB, SEEK_DATA));
	show("alpha zeros in the hole", pread(a, b, 8, 2 * MIB) == 8 && !memcmp(b, "\0\0\0\0\0\0\0\0", 8));
	show("alpha shrink", ftruncate(a, MIB));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", a);
	ssize_t l = readlink(path, b, sizeof(b) - 1);
	printf("alpha link: %.*s\n", (int)(l < 0 ? 0 : l), b);
	fstat(bd, &st2);
	show("second description is the same file", st.st_dev == st2.st_dev && st.st_ino == st2.st_ino);
	show("its offset", lseek(bd, 0, SEEK_CUR));
	show("its access mode", fcntl(bd, F_GETFL) & O_ACCMODE);
	show("a write through it", write(bd, "x", 1));
	memset(b, 0, sizeof(b));
	show("mapped: msync", msync(m, pg, MS_SYNC));
	show("mapped: file has what was written before", pread(c, b, 6, 0) == 6 && !memcmp(b, "before", 6));
	memcpy(m + 100, "after", 5);
	show("mapped: msync", msync(m, pg, MS_SYNC));
	show("mapped: file has what was written after", pread(c, b, 5, 100) == 5 && !memcmp(b, "after", 5));
	show("mapped: F_ADD_SEALS write with the mapping", fcntl(c, F_ADD_SEALS, F_SEAL_WRITE));
	show("orphan mapping kept its bytes", !memcmp(om, "orphan data", 11));
	fstat(e, &st);
	show("noexec mode", st.st_mode & 07777);
	show("noexec seals", fcntl(e, F_GET_SEALS));
	printf("done\n");
	return 0;
}
