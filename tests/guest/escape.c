/*
 * escape.c: tries to read and write outside its root and its writable directory. Usage: escape WRITABLE_DIR [--native]
 *
 * The root it runs in must hold a decoy /etc/passwd whose content starts with "DECOY". Every read of a passwd
 * file, by whatever path, must fail or return the decoy. Every write outside WRITABLE_DIR must fail with EROFS
 * (with --native, for a chroot run on a plain Linux host, those write checks are skipped).
 */
#include "guest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static int native;

/* Reads the start of a file; returns 1 if it is the decoy or could not be read, 0 if it leaked something else. */
static int try_read_at(int dirfd, const char *path)
{
	char buf[64] = { 0 };
	int fd = openat(dirfd, path, O_RDONLY);

	if (fd < 0) {
		check(1, "read %s: refused (%s)", path, errname(errno));
		return 1;
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		check(1, "read %s: read refused (%s)", path, errname(errno));
		return 1;
	}
	buf[n] = 0;
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = 0;
	return check(!strncmp(buf, "DECOY", 5), "read %s: got the decoy (\"%s\")", path, buf);
}

static void try_read(const char *path)
{
	try_read_at(AT_FDCWD, path);
}

/* A write-type operation outside the writable directory must fail with EROFS. */
#define MUST_EROFS(expr, what)                                                                     \
	do {                                                                                       \
		if (native)                                                                        \
			break;                                                                     \
		errno = 0;                                                                         \
		long r_ = (long)(expr);                                                            \
		check(r_ < 0 && errno == EROFS, "%s: EROFS (got %ld/%s)", (what), r_, errname(errno)); \
	} while (0)

/* 3b. a working directory deeper than PATH_MAX (looked up from the held
 * directory, not by name): ".." past the root, absolute and upward symlinks,
 * a write outside the writable directory, all from there. */
static void deep_checks(const char *w)
{
	enum { LEVELS = 45 };
	char name[101], *up = malloc(3 * (LEVELS + 10) + 32);
	int ok = 1;

	memset(name, 'd', 100);
	name[100] = '\0';
	check(chdir(w) == 0, "chdir %s", w);
	for (int i = 0; i < LEVELS && ok; i++)
		ok = mkdir(name, 0700) == 0 && chdir(name) == 0;
	check(ok, "a tree deeper than PATH_MAX");
	up[0] = '\0';
	for (int i = 0; i < LEVELS + 10; i++)
		strcat(up, "../");
	strcat(up, "etc/passwd");
	try_read(up);
	check(symlink("/etc/passwd", "abs") == 0, "symlink abs");
	try_read("abs");
	check(symlink(up, "rel") == 0, "symlink rel");
	try_read("rel");
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	try_read_at(dfd, up);
	strcpy(strrchr(up, '/') + 1, "../outside.txt");
	MUST_EROFS(open(up, O_CREAT | O_WRONLY, 0644), "create outside from deep");
	strcpy(strrchr(up, '/') + 1, "../etc/passwd");
	MUST_EROFS(open(up, O_WRONLY), "write /etc/passwd from deep");
	MUST_EROFS(openat(dfd, up, O_WRONLY | O_TRUNC), "truncate /etc/passwd from a deep fd");
	close(dfd);
	unlink("abs");
	unlink("rel");
	for (int i = 0; i < LEVELS; i++)
		ok = chdir("..") == 0 && rmdir(name) == 0 && ok;
	check(ok, "the deep tree removed");
	free(up);
	chdir("/");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: escape WRITABLE_DIR [--native]\n");
		return 2;
	}
	const char *w = argv[1];
	native = argc > 2 && !strcmp(argv[2], "--native");
	setvbuf(stdout, NULL, _IOLBF, 0);
	char p[4096];

	/* 1. plain and dotted paths */
	try_read("/etc/passwd");
	try_read("etc/passwd");
	try_read("/../../../../etc/passwd");
	try_read("../../../../../../../../etc/passwd");
	try_read("/bin/../../etc/passwd");
	try_read("//etc//passwd");
	try_read("/./etc/./passwd");

	/* 2. symlinks prepared by the test: absolute, relative, chained */
	try_read("/etc_link/passwd");
	try_read("/up/etc/passwd");
	try_read("/up/up/etc/passwd");
	try_read("/sub/deep/rel/passwd");
	try_read("/sub/deep/abs_file");
	try_read("/loop_a"); /* a symlink loop: must fail (ELOOP), not hang */

	/* 3. directory fds and cwd */
	int root = open("/", O_RDONLY | O_DIRECTORY);
	check(root >= 0, "open /");
	try_read_at(root, "../etc/passwd");
	try_read_at(root, "../../../../etc/passwd");
	try_read_at(root, "up/../../etc/passwd");
	int sub = open("/sub/deep", O_RDONLY | O_DIRECTORY);
	if (sub >= 0) {
		try_read_at(sub, "../../../../etc/passwd");
		try_read_at(sub, "rel/passwd");
		close(sub);
	}
	check(chdir("/") == 0, "chdir /");
	for (int i = 0; i < 10; i++)
		chdir("..");
	check(getcwd(p, sizeof(p)) && !strcmp(p, "/"), "chdir .. at the root stays at / (%s)", p);
	try_read("etc/passwd");
	check(fchdir(root) == 0, "fchdir root");
	chdir("up/up/up");
	check(getcwd(p, sizeof(p)) && !strcmp(p, "/"), "chdir through the up link stays at / (%s)", p);
	close(root);
	struct stat st;
	struct stat st2;
	check(stat("/..", &st) == 0 && stat("/", &st2) == 0 && st.st_ino == st2.st_ino, "/.. is /");
	char target[256];
	ssize_t n = readlink("/etc_link", target, sizeof(target) - 1);
	check(n > 0, "readlink /etc_link");

	deep_checks(w);

	/* 4. writes outside the writable directory */
	MUST_EROFS(open("/outside.txt", O_CREAT | O_WRONLY, 0644), "create /outside.txt");
	MUST_EROFS(open("/etc/passwd", O_WRONLY), "open /etc/passwd for writing");
	MUST_EROFS(open("/etc/passwd", O_RDWR | O_TRUNC), "truncate /etc/passwd");
	MUST_EROFS(truncate("/etc/passwd", 0), "truncate() /etc/passwd");
	MUST_EROFS(unlink("/etc/passwd"), "unlink /etc/passwd");
	MUST_EROFS(mkdir("/newdir", 0755), "mkdir /newdir");
	MUST_EROFS(rmdir("/sub"), "rmdir /sub");
	MUST_EROFS(rename("/etc/passwd", "/etc/pw2"), "rename in /etc");
	MUST_EROFS(symlink("/", "/newlink"), "symlink at /");
	MUST_EROFS(chmod("/etc/passwd", 0777), "chmod /etc/passwd");
	MUST_EROFS(open("/etc_link/passwd", O_WRONLY | O_APPEND), "write through /etc_link");
	MUST_EROFS(open("/up/etc/new", O_CREAT | O_WRONLY, 0644), "create through /up");

	/* 5. the writable directory works, and links out of it do not make other places writable */
	snprintf(p, sizeof(p), "%s/inside.txt", w);
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	check(fd >= 0 && write(fd, "inside\n", 7) == 7, "write %s", p);
	if (fd >= 0)
		close(fd);
	snprintf(p, sizeof(p), "%s/../escaped.txt", w);
	MUST_EROFS(open(p, O_CREAT | O_WRONLY, 0644), "create WRITABLE/../escaped.txt");
	snprintf(p, sizeof(p), "%s/evil", w);
	unlink(p);
	check(symlink("/etc", p) == 0, "symlink WRITABLE/evil -> /etc");
	snprintf(p, sizeof(p), "%s/evil/passwd", w);
	try_read(p);
	MUST_EROFS(open(p, O_WRONLY | O_TRUNC), "write through WRITABLE/evil -> /etc");
	snprintf(p, sizeof(p), "%s/evil2", w);
	unlink(p);
	check(symlink("../../../../../../..", p) == 0, "symlink WRITABLE/evil2 -> ../../..");
	snprintf(p, sizeof(p), "%s/evil2/etc/passwd", w);
	try_read(p);
	snprintf(p, sizeof(p), "%s/evil2/created.txt", w);
	MUST_EROFS(open(p, O_CREAT | O_WRONLY, 0644), "create through WRITABLE/evil2");
	snprintf(p, sizeof(p), "%s/moved", w);
	/* moving or linking a read-only file into the writable area would make it writable: EROFS or EXDEV */
	if (!native) {
		errno = 0;
		check(rename("/etc/passwd", p) < 0 && (errno == EROFS || errno == EXDEV),
		      "rename /etc/passwd into WRITABLE refused (%s)", errname(errno));
		errno = 0;
		check(link("/etc/passwd", p) < 0 && (errno == EROFS || errno == EXDEV || errno == EPERM),
		      "hard link /etc/passwd into WRITABLE refused (%s)", errname(errno));
	}

	/* 5. a block device the test put in the root (/blk): readable, but
	 * neither its path nor a reopen of a read-only fd through
	 * /proc/self/fd gives write access */
	struct stat bs;
	if (stat("/blk", &bs) == 0 && S_ISBLK(bs.st_mode)) {
		int bfd = open("/blk", O_RDONLY);
		check(bfd >= 0, "open /blk (a block device) read-only");
		MUST_EROFS(open("/blk", O_RDWR), "open /blk O_RDWR");
		snprintf(p, sizeof(p), "/proc/self/fd/%d", bfd);
		MUST_EROFS(open(p, O_RDWR), "reopen /blk's read-only fd O_RDWR through /proc/self/fd");
		MUST_EROFS(open(p, O_WRONLY), "reopen /blk's read-only fd O_WRONLY through /proc/self/fd");
		close(bfd);
	}

	return done_testing();
}
