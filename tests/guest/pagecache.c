/* pagecache.c: MAP_SHARED file mappings are one page cache — mappings of a file see each other (one process, unrelated processes), write() and read() agree with them, msync, partial munmap, mremap, truncate and 20,000 mappings of one file behave as on Linux. Usage: pagecache DIR [hold] (hold: two processes hold mappings of one file for a snapshot, then check each other's stores) */
#include "guest.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define PG 4096
#define MANY 20000

static char path[4096], path2[4096];

static int make_file(const char *p, size_t len, char fill)
{
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char buf[PG];
	memset(buf, fill, sizeof(buf));
	for (size_t done = 0; fd >= 0 && done < len; done += PG)
		if (write(fd, buf, len - done < PG ? len - done : PG) < 0)
			return -1;
	return fd;
}

static char *map(int fd, size_t len, int prot, off_t off)
{
	char *p = mmap(NULL, len, prot, MAP_SHARED, fd, off);
	return p == MAP_FAILED ? NULL : p;
}

static char file_byte(off_t off)
{
	char c = 0;
	int fd = open(path, O_RDONLY);
	if (fd < 0 || pread(fd, &c, 1, off) != 1)
		c = '?';
	close(fd);
	return c;
}

/* Two mappings in one process, and the fd's read and write. */
static void one_process(int fd)
{
	char *a = map(fd, 3 * PG, PROT_READ | PROT_WRITE, 0), *b = map(fd, 2 * PG, PROT_READ | PROT_WRITE, PG);
	if (!check(a && b, "two mappings of one file"))
		return;
	a[PG + 10] = 'X';
	check(b[10] == 'X', "a store through one mapping is seen through the other");
	b[PG + 20] = 'Y';
	check(a[2 * PG + 20] == 'Y', "and the other way");
	check(file_byte(PG + 10) == 'X', "read() of the file sees a store without msync");
	char c = 'W';
	check(pwrite(fd, &c, 1, 2 * PG + 30) == 1 && a[2 * PG + 30] == 'W' && b[PG + 30] == 'W',
	      "a mapping sees a later pwrite()");
	check(lseek(fd, 5, SEEK_SET) == 5 && write(fd, "vw", 2) == 2 && a[5] == 'v' && a[6] == 'w',
	      "and a later write() at the file position");
	a[100] = 'M';
	check(msync(a, 3 * PG, MS_SYNC) == 0 && file_byte(100) == 'M', "msync, then the file holds the store");
	/* MADV_DONTNEED keeps a shared file mapping's contents. */
	check(madvise(a, PG, MADV_DONTNEED) == 0 && a[100] == 'M' && a[5] == 'v', "MADV_DONTNEED keeps the data");

	/* Part of a mapping goes: the rest still shares. */
	check(munmap(a + PG, PG) == 0, "munmap of the middle page");
	a[2 * PG + 40] = 'Z';
	check(b[PG + 40] == 'Z' && file_byte(2 * PG + 40) == 'Z', "the pages left still share");
	b[50] = 'Q';
	check(file_byte(PG + 50) == 'Q', "the middle page (still mapped once) too");

	/* mremap: grown in place or moved, still the file's pages. */
	char *m = mremap(b, 2 * PG, 16 * PG, MREMAP_MAYMOVE);
	if (check(m != MAP_FAILED, "mremap grows the mapping")) {
		m[60] = 'R';
		check(file_byte(PG + 60) == 'R' && m[PG + 40] == 'Z', "the moved mapping still shares");
		check(ftruncate(fd, 8 * PG) == 0, "the file grows");
		m[5 * PG + 1] = 'G';
		check(file_byte(6 * PG + 1) == 'G', "the grown part maps the file's next pages");
		check(munmap(m, 16 * PG) == 0, "munmap the moved mapping");
	}
	char *fx = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *n2 = mremap(a, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, fx + PG);
	if (check(n2 == fx + PG, "mremap to a fixed address")) {
		n2[70] = 'F';
		check(file_byte(70) == 'F', "the moved page still writes the file");
		munmap(fx, 2 * PG);
	}
	munmap(a + 2 * PG, PG);
}

/* A process that is no fork of the mapping's (it opens and maps the file
 * itself) sees the parent's stores and the parent sees its own. */
static void two_processes(void)
{
	int fd = open(path, O_RDWR);
	char *p = map(fd, 2 * PG, PROT_READ | PROT_WRITE, 0);
	if (!check(p != NULL, "parent maps the file"))
		return;
	p[200] = 'P';
	int go[2], back[2];
	if (pipe(go) || pipe(back))
		return;
	pid_t c = fork();
	if (c == 0) {
		/* Its own open and mmap, after the parent's. */
		int cfd = open(path, O_RDWR);
		char *q = map(cfd, 2 * PG, PROT_READ | PROT_WRITE, 0), x;
		if (!q)
			_exit(2);
		int ok = q[200] == 'P';
		q[300] = 'C';
		if (write(back[1], &ok, sizeof(ok)) != sizeof(ok) || read(go[0], &x, 1) != 1)
			_exit(3);
		ok = q[400] == 'p';
		/* Exit without msync or munmap: the store stays. */
		q[PG + 1] = 'E';
		_exit(ok ? 0 : 1);
	}
	int ok = 0, st = 0;
	check(read(back[0], &ok, sizeof(ok)) == sizeof(ok) && ok, "the other process sees the parent's store");
	check(p[300] == 'C', "the parent sees the other process's store");
	p[400] = 'p';
	check(write(go[1], "x", 1) == 1 && waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "the other process sees the parent's later store");
	check(p[PG + 1] == 'E' && file_byte(PG + 1) == 'E', "its store before exit stays");
	munmap(p, 2 * PG);
	close(fd);
	close(go[0]), close(go[1]), close(back[0]), close(back[1]);
}

/* A read-only fd's mapping sees the file and never becomes writable. */
static void read_only(void)
{
	int rfd = open(path, O_RDONLY), wfd = open(path, O_RDWR);
	char *r = map(rfd, PG, PROT_READ, 0), *w = map(wfd, PG, PROT_READ | PROT_WRITE, 0);
	if (!check(r && w, "read-only and read-write mappings"))
		return;
	w[500] = 'O';
	check(r[500] == 'O', "the read-only mapping sees the other's store");
	errno = 0;
	check(mprotect(r, PG, PROT_READ | PROT_WRITE) == -1 && errno == EACCES,
	      "mprotect(PROT_WRITE) of it: EACCES");
	check(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0) == MAP_FAILED && errno == EACCES,
	      "a writable shared mapping of it: EACCES");
	munmap(r, PG);
	munmap(w, PG);
	close(rfd);
	close(wfd);
}

/* The VMM's other file calls: copy_file_range, sendfile and truncate. */
static void file_calls(int fd)
{
	char *p = map(fd, 2 * PG, PROT_READ | PROT_WRITE, 0);
	if (!check(p != NULL, "map for the file calls"))
		return;
	int o = make_file(path2, 2 * PG, 'o');
	p[600] = 'K';
	loff_t in = 0, out = 0;
	char c = 0;
	check(copy_file_range(fd, &in, o, &out, PG, 0) == PG && pread(o, &c, 1, 600) == 1 && c == 'K',
	      "copy_file_range from the file sees a store");
	check(pwrite(o, "LL", 2, 700) == 2, "source written");
	in = 0, out = 0;
	check(copy_file_range(o, &in, fd, &out, PG, 0) == PG && p[700] == 'L', "copy_file_range into it is seen");
	off_t so = 0;
	p[800] = 'S';
	check(lseek(o, 0, SEEK_SET) == 0 && sendfile(o, fd, &so, PG) == PG && pread(o, &c, 1, 800) == 1 && c == 'S',
	      "sendfile from the file sees a store");
	p[PG + 10] = 'T';
	check(ftruncate(fd, PG + 5) == 0 && p[PG + 4] != 0, "truncate into the second page");
	check(p[PG + 10] == 0, "bytes past the new end read zero");
	check(ftruncate(fd, 2 * PG) == 0 && p[PG + 10] == 0 && file_byte(PG + 10) == 0, "and stay zero when it grows");
	close(o);
	munmap(p, 2 * PG);
}

/* 20,000 mappings of one page, side by side. */
static void many(void)
{
	int fd = make_file(path2, PG, 'm');
	char *base = mmap(NULL, (size_t)MANY * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int n = 0;
	if (!check(fd >= 0 && base != MAP_FAILED, "a range for many mappings"))
		return;
	for (; n < MANY; n++)
		if (mmap(base + (size_t)n * PG, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
			break;
	check(n == MANY, "%d shared mappings of one page", MANY);
	base[123] = 'A';
	check(base[(size_t)(MANY - 1) * PG + 123] == 'A', "the first's store is seen through the last");
	int bad = 0;
	for (int i = 0; i < MANY; i += 97)
		bad += base[(size_t)i * PG + 123] != 'A';
	check(!bad, "and through those between");
	for (int i = 0; i < n; i++)
		munmap(base + (size_t)i * PG, PG);
	char c = 0;
	check(pread(fd, &c, 1, 123) == 1 && c == 'A', "after the last munmap the file holds it");
	close(fd);
}

/* For a snapshot: a parent and a process that mapped the file on its own
 * hold their mappings; after the restore each sees the other's stores. */
static int hold(void)
{
	int fd = make_file(path, 2 * PG, 'h'), go[2], back[2];
	char *p = map(fd, 2 * PG, PROT_READ | PROT_WRITE, 0), x;
	if (!p || pipe(go) || pipe(back))
		return 1;
	pid_t c = fork();
	if (c == 0) {
		munmap(p, 2 * PG);
		char *q = map(open(path, O_RDWR), 2 * PG, PROT_READ | PROT_WRITE, PG);
		if (!q || write(back[1], "r", 1) != 1 || read(go[0], &x, 1) != 1)
			_exit(2);
		q[10] = 'c';
		if (write(back[1], "s", 1) != 1 || read(go[0], &x, 1) != 1)
			_exit(2);
		_exit(q[20] == 'p' ? 0 : 1);
	}
	int st;
	check(read(back[0], &x, 1) == 1, "the other process holds its mapping");
	printf("holding\n");
	fflush(stdout);
	sleep(3);
	check(write(go[1], "g", 1) == 1 && read(back[0], &x, 1) == 1 && p[PG + 10] == 'c',
	      "after the restore the parent sees the other process's store");
	p[PG + 20] = 'p';
	check(write(go[1], "g", 1) == 1 && waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "and the other process the parent's");
	check(file_byte(PG + 10) == 'c' && file_byte(PG + 20) == 'p', "the file has both");
	return g_failures ? 1 : 0;
}

/* A memfd's cached pages count once against memory, not once per
 * mapping: 400 mappings of 2 MiB are more than a domain's default 512 MiB
 * would hold as copies. */
static void memfd_many(void)
{
	int fd = memfd_create("pc", 0), n = 0;
	char *m[400];
	if (!check(fd >= 0 && ftruncate(fd, 2 << 20) == 0, "a 2 MiB memfd"))
		return;
	for (; n < 400; n++)
		if ((m[n] = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
			break;
	check(n == 400, "400 shared mappings of it");
	if (n == 400) {
		m[0][(1 << 20) + 5] = 'x';
		check(m[399][(1 << 20) + 5] == 'x', "the first's store is seen through the last");
	}
	for (int i = 0; i < n; i++)
		munmap(m[i], 2 << 20);
	char c = 0;
	check(pread(fd, &c, 1, (1 << 20) + 5) == 1 && c == 'x', "and the memfd holds it");
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	snprintf(path, sizeof(path), "%s/pc-file", argv[1]);
	snprintf(path2, sizeof(path2), "%s/pc-other", argv[1]);
	if (argc > 2 && !strcmp(argv[2], "hold"))
		return hold();
	int fd = make_file(path, 8 * PG, '.');
	if (!check(fd >= 0, "file made"))
		return 1;
	one_process(fd);
	two_processes();
	read_only();
	file_calls(fd);
	many();
	memfd_many();
	close(fd);
	return g_failures ? 1 : 0;
}
