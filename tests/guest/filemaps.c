/* filemaps.c: /proc/self/maps names file mappings as Linux does — path, offset, device and inode, " (deleted)", memfds — through munmap, mprotect, mremap, MAP_FIXED, fork and a hold for snapshot. Usage: filemaps DIR [hold] (prints the lines of its test area relative to it, for a comparison with a native run; hold: waits 3 s for a snapshot, then checks them again). */
#include "guest.h"

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#define PG 4096
#define AREA (80 * PG)

static char dir[PATH_MAX];
static char *area;

/* The whole of a /proc file (procfs files read in pieces). */
static char *slurp(const char *path)
{
	size_t cap = 1 << 16, len = 0;
	char *b = malloc(cap);
	int fd = open(path, O_RDONLY);
	if (fd < 0 || !b)
		return NULL;
	for (;;) {
		if (len + 4096 > cap)
			b = realloc(b, cap *= 2);
		ssize_t n = read(fd, b + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	b[len] = 0;
	return b;
}

/* Prints the maps lines of [area, area + AREA) with addresses as page
 * numbers in it, the directory as DIR, and instead of device and inode
 * whether they are those of the file the line names; the column where the
 * name starts. Returns the text printed, for comparisons. */
static char *show_area(const char *maps, const char *title)
{
	static char out[16384];
	size_t o = 0;
	o += (size_t)snprintf(out + o, sizeof(out) - o, "%s:\n", title);
	for (const char *l = maps; *l;) {
		const char *nl = strchr(l, '\n');
		size_t ll = nl ? (size_t)(nl - l) : strlen(l);
		char line[4096];
		snprintf(line, sizeof(line), "%.*s", (int)ll, l);
		l += ll + (nl ? 1 : 0);
		unsigned long s, e, off, ino;
		unsigned maj, min;
		char perms[8];
		int n = 0;
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &s, &e, perms, &off, &maj, &min, &ino, &n) < 7)
			continue;
		if (s < (unsigned long)area || e > (unsigned long)area + AREA)
			continue;
		const char *name = line + n;
		char nm[PATH_MAX + 32] = "";
		size_t dl = strlen(dir);
		if (!strncmp(name, dir, dl) && name[dl] == '/')
			snprintf(nm, sizeof(nm), "DIR%s", name + dl);
		else
			snprintf(nm, sizeof(nm), "%s", name);
		const char *id = "anon";
		if (*name) {
			struct stat st;
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s", name);
			char *del = strstr(path, " (deleted)");
			if (del)
				*del = 0;
			/* A deleted file or a memfd: the test keeps an fd open
			 * on it and says which. */
			id = "?";
			if (del)
				id = "deleted";
			else if (stat(path, &st) == 0)
				id = major(st.st_dev) == maj && minor(st.st_dev) == min && st.st_ino == ino ? "ino ok" : "ino BAD";
		} else if (maj || min || ino) {
			id = "anon BAD";
		}
		o += (size_t)snprintf(out + o, sizeof(out) - o, "  %2lu-%2lu %s %08lx %s%s%s @%d\n",
				      (s - (unsigned long)area) / PG, (e - (unsigned long)area) / PG, perms, off, id,
				      *nm ? " " : "", nm, *name ? n : 0);
	}
	return out;
}

static void show_now(const char *title)
{
	char *m = slurp("/proc/self/maps");
	fputs(show_area(m ? m : "", title), stdout);
	free(m);
}

static int make(const char *name, size_t pages)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char buf[PG];
	for (size_t i = 0; i < pages; i++) {
		memset(buf, 'a' + (int)i, sizeof(buf));
		if (write(fd, buf, PG) != PG)
			return -1;
	}
	return fd;
}

/* The file, mapped at page `at` of the area. */
static char *map_at(int at, size_t pages, int prot, int flags, int fd, size_t pgoff)
{
	char *p = mmap(area + at * PG, pages * PG, prot, flags | MAP_FIXED, fd, (off_t)(pgoff * PG));
	return p == MAP_FAILED ? NULL : p;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !realpath(argv[1], dir))
		return 2;
	bool hold = argc > 2 && !strcmp(argv[2], "hold");
	area = mmap(NULL, AREA, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(area != MAP_FAILED, "the test area");
	int fd = make("data", 8);
	char *p;

	/* A private read-only mapping, its middle page unmapped. */
	p = map_at(0, 8, PROT_READ, MAP_PRIVATE, fd, 0);
	check(p && p[3 * PG] == 'd', "private mapping reads the file");
	check(munmap(p + 2 * PG, PG) == 0, "munmap of page 2");

	/* Private and writable, a middle page made read-only and back. */
	p = map_at(10, 6, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 1);
	check(p && p[0] == 'b', "private writable mapping at offset 1");
	p[PG] = 'X';
	check(mprotect(p + 2 * PG, PG, PROT_READ) == 0, "mprotect of the middle page");
	show_now("private, split");
	check(mprotect(p + 2 * PG, PG, PROT_READ | PROT_WRITE) == 0, "mprotect back");

	/* Shared, at an offset. */
	p = map_at(18, 4, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 1);
	check(p && p[PG] == 'c', "shared mapping at offset 1");

	/* mremap: moved (the offset goes with it), then shrunk. */
	p = map_at(24, 3, PROT_READ, MAP_PRIVATE, fd, 2);
	char *q = mremap(p, 3 * PG, 3 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, area + 30 * PG);
	check(q == area + 30 * PG && q[0] == 'c' && q[2 * PG] == 'e', "mremap moved the mapping");
	check(mremap(q, 3 * PG, 2 * PG, 0) == q, "mremap shrank it");

	/* MAP_FIXED anonymous memory over the middle of a file mapping. */
	p = map_at(36, 4, PROT_READ, MAP_PRIVATE, fd, 0);
	check(mmap(p + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p + PG,
	      "anonymous memory over page 1");

	/* Two mappings of one description at contiguous offsets are one
	 * area; of another description of the same file, two. */
	map_at(42, 2, PROT_READ, MAP_PRIVATE, fd, 0);
	map_at(44, 2, PROT_READ, MAP_PRIVATE, fd, 2);
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/data", dir);
	int fd2 = open(path, O_RDONLY);
	map_at(46, 2, PROT_READ, MAP_PRIVATE, fd2, 4);

	/* A deleted file and a memfd. */
	int gfd = make("gone", 2);
	map_at(50, 2, PROT_READ, MAP_PRIVATE, gfd, 0);
	snprintf(path, sizeof(path), "%s/gone", dir);
	check(unlink(path) == 0, "unlink of a mapped file");
	int mfd = memfd_create("filemaps", 0);
	check(mfd >= 0 && ftruncate(mfd, 3 * PG) == 0, "memfd");
	map_at(54, 3, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	map_at(58, 1, PROT_READ, MAP_PRIVATE, mfd, 2);

	char *mine = slurp("/proc/self/maps");
	char *text = strdup(show_area(mine, "after"));
	fputs(text, stdout);

	/* The memfd's and the deleted file's device and inode. */
	struct stat st;
	bool ok = true;
	for (const char *l = mine; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		unsigned long s, ino;
		unsigned maj, min;
		if (sscanf(l, "%lx-%*x %*s %*x %x:%x %lu", &s, &maj, &min, &ino) == 4 &&
		    (s == (unsigned long)area + 50 * PG || s == (unsigned long)area + 54 * PG)) {
			fstat(s == (unsigned long)area + 50 * PG ? gfd : mfd, &st);
			ok = ok && major(st.st_dev) == maj && minor(st.st_dev) == min && st.st_ino == ino;
		}
	}
	check(ok, "deleted file and memfd: device and inode of the open file");

	/* The program itself, and the kernel's named areas. */
	char exe[PATH_MAX];
	ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[el > 0 ? el : 0] = 0;
	char want[PATH_MAX + 8];
	snprintf(want, sizeof(want), " %s\n", exe);
	int segs = 0;
	for (const char *l = strstr(mine, want); l; l = strstr(l + 1, want))
		segs++;
	check(segs >= 2, "the program's segments name it (%d)", segs >= 2 ? 2 : segs);
	for (const char *l = mine; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "")
		if (!strncmp(strchr(l, ' ') + 1, "r-xp", 4) && strstr(l, want) == strchr(l, '\n') - strlen(want) + 1) {
			unsigned long off;
			sscanf(l, "%*x-%*x %*s %lx", &off);
			check(off % PG == 0, "its text's line has a page-aligned offset");
			break;
		}
	check(strstr(mine, " [heap]\n") && strstr(mine, " [stack]\n") && strstr(mine, " [vdso]\n") &&
	      strstr(mine, " [vvar]\n"), "[heap], [stack], [vdso] and [vvar] keep their names");

	/* A child's maps are its parent's, read by itself and by the parent. */
	int pp[2], cp[2];
	if (pipe(pp) || pipe(cp))
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		char *m = slurp("/proc/self/maps");
		char *t = show_area(m, "after");
		char c = !strcmp(t, text) ? 'y' : 'n';
		if (write(cp[1], &c, 1) != 1 || read(pp[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	char c = 0;
	check(read(cp[0], &c, 1) == 1 && c == 'y', "the child's own maps are the parent's");
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	char *cm = slurp(path);
	check(cm && !strcmp(show_area(cm, "after"), text), "/proc/PID/maps of the child too");
	free(cm);
	if (write(pp[1], &c, 1) != 1)
		return 1;
	int status;
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child exited");

	if (hold) {
		/* A snapshot is taken here (an image cannot hold an open fd
		 * of a deleted file; its mapping it holds). */
		close(gfd);
		/* A second process in the image too (section procs). */
		pid = fork();
		if (pid == 0) {
			sleep(4);
			char *m = slurp("/proc/self/maps");
			_exit(strcmp(show_area(m, "after"), text) ? 3 : 0);
		}
		printf("holding\n");
		fflush(stdout);
		sleep(3);
		char *after = slurp("/proc/self/maps");
		char *t = show_area(after, "after");
		check(!strcmp(t, text), "the same after a restore");
		if (strcmp(t, text))
			fputs(t, stdout);
		free(after);
		waitpid(pid, &status, 0);
		check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "and in a child that was in the image (%d)",
		      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	free(text);
	free(mine);
	return done_testing();
}
