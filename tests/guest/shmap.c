/* shmap.c: MAP_SHARED file mappings write back — on msync, on munmap, at exit — and MAP_PRIVATE ones never do. Usage: shmap DIR [hold] (prints what it reads back; the caller compares DIR's files afterwards). */
#include "guest.h"

#include <fcntl.h>
#include <sys/mman.h>

#define PG 4096

static int make(const char *path, char c, size_t len)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char buf[PG];
	memset(buf, c, sizeof(buf));
	for (size_t off = 0; off < len; off += PG)
		if (write(fd, buf, PG) != PG)
			return -1;
	return fd;
}

static char at(int fd, off_t off)
{
	char c = 0;
	return pread(fd, &c, 1, off) == 1 ? c : '?';
}

int main(int argc, char **argv)
{
	char p1[512], p2[512], p3[512];
	if (argc < 2)
		return 2;
	snprintf(p1, sizeof(p1), "%s/shared", argv[1]);
	snprintf(p2, sizeof(p2), "%s/private", argv[1]);
	snprintf(p3, sizeof(p3), "%s/atexit", argv[1]);

	int fd = make(p1, 'a', 3 * PG);
	char *m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check(m != MAP_FAILED && m[0] == 'a' && m[3 * PG - 1] == 'a', "shared mapping shows the file");
	memcpy(m, "hello", 5);
	m[2 * PG + 7] = 'Z';
	check(msync(m, 3 * PG, MS_SYNC) == 0, "msync");
	check(at(fd, 0) == 'h' && at(fd, 4) == 'o' && at(fd, 2 * PG + 7) == 'Z', "after msync the file has the writes");
	m[PG] = 'M';
	check(munmap(m + PG, PG) == 0, "munmap of the middle page");
	check(at(fd, PG) == 'M', "munmap wrote the page back");
	m[2 * PG + 8] = 'Y';
	check(munmap(m, 3 * PG) == 0, "munmap of the rest");
	check(at(fd, 2 * PG + 8) == 'Y', "the upper part after the split wrote back too");
	close(fd);

	fd = make(p2, 'b', PG);
	m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	m[0] = 'P';
	msync(m, PG, MS_SYNC);
	munmap(m, PG);
	check(at(fd, 0) == 'b', "a private mapping never reaches the file");
	close(fd);

	/* Left mapped (fd closed) at exit: the caller checks the file. */
	fd = make(p3, 'c', 2 * PG);
	m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	memcpy(m + PG + 100, "exit-write", 10);
	if (argc > 2 && !strcmp(argv[2], "hold")) {
		/* For a snapshot: the mapping must still write back after
		 * restore, and still share its pages with a second mapping,
		 * a later one and the file's reads. */
		int fd2 = open(p3, O_RDWR);
		char *m2 = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
		m2[PG + 300] = 'S';
		printf("holding\n");
		fflush(stdout);
		sleep(3);
		memcpy(m + 200, "late-write", 10);
		check(m2 != MAP_FAILED && !memcmp(m2 + 200, "late-write", 10) && m[PG + 300] == 'S',
		      "after the restore the two mappings still share");
		char *m3 = mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd2, 0);
		check(m3 != MAP_FAILED && !memcmp(m3 + 200, "late-write", 10), "a new mapping maps the same pages");
		check(at(fd2, 200) == 'l' && at(fd2, PG + 300) == 'S', "read() sees the stores");
		close(fd2);
	}
	return done_testing();
}
