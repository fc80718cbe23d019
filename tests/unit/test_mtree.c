/* test_mtree.c: the target side of `migrate --copy-writable` fed hostile entries — a directory, file and symlink land below the allowed writable path with their data, mode and time; "..", absolute, doubled or trailing slashes, a symlinked directory on the way, a symlink at the name, a writable path the policy does not allow, data outside a file and a wrong count are refused, and nothing is written outside. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/mtree.h"
#include "snapshot/restore.h"
#include "snapshot/sbuf.h"
#include "check.h"

/* The stream's entry kinds (mtree.c). */
enum { K_DIR = 1, K_FILE = 2, K_LINK = 3, K_GONE = 4 };

static char err[1024];

/* One MS_TREE entry; 0, or what mtree_recv returned. */
static int entry(const char *tree, const char *rel, int kind, unsigned mode, const char *target)
{
	struct sbuf b = { 0 };
	sb_str(&b, tree);
	sb_str(&b, rel);
	sb_u8(&b, (uint8_t)kind);
	sb_u32(&b, mode);
	sb_u64(&b, 1000000000ULL * 1700000000ULL);
	if (kind == K_LINK)
		sb_str(&b, target);
	int r = mtree_recv(MS_TREE, b.p, b.len, err, sizeof(err));
	sb_free(&b);
	return r;
}

static int data(const char *s)
{
	return mtree_recv(MS_TREE_DATA, (const uint8_t *)s, strlen(s), err, sizeof(err));
}

static int end(uint32_t count)
{
	uint8_t b[4] = { (uint8_t)count, (uint8_t)(count >> 8), (uint8_t)(count >> 16), (uint8_t)(count >> 24) };
	return mtree_recv(MS_TREE_END, b, 4, err, sizeof(err));
}

static int begin(const char *root, char **writable)
{
	struct restore_opts o = { .root = root, .writable = writable, .cred = { .own = true } };
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int r = mtree_begin(fd, &o, err, sizeof(err));
	close(fd);
	return r;
}

static bool exists(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return lstat(p, &st) == 0;
}

int main(void)
{
	char base[] = "/tmp/test_mtree.XXXXXX", root[PATH_MAX], out[PATH_MAX], w[PATH_MAX + 8], p[PATH_MAX * 2];
	if (!mkdtemp(base))
		return 1;
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(out, sizeof(out), "%s/outside", base);
	snprintf(w, sizeof(w), "%s/w", root);
	mkdir(root, 0755);
	mkdir(out, 0755);
	mkdir(w, 0755);
	snprintf(p, sizeof(p), "%s/ro", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/victim", out);
	FILE *f = fopen(p, "w");
	fputs("untouched\n", f);
	fclose(f);
	/* A symlinked directory and a symlink to a file, both pointing out. */
	snprintf(p, sizeof(p), "%s/escape", w);
	CHECK(symlink(out, p) == 0);
	snprintf(p, sizeof(p), "%s/victimlink", w);
	char tgt[PATH_MAX * 2];
	snprintf(tgt, sizeof(tgt), "%s/victim", out);
	CHECK(symlink(tgt, p) == 0);

	char *writable[] = { "/w", NULL };
	CHECK(begin(root, writable) == 0, "%s", err);

	/* A directory, a file in it with data, a symlink: as sent. */
	CHECK(entry("/w", "d", K_DIR, 0750, NULL) == 0, "%s", err);
	CHECK(entry("/w", "d/f", K_FILE, 0640, NULL) == 0, "%s", err);
	CHECK(data("hello ") == 0 && data("world\n") == 0 && data("") == 0, "%s", err);
	CHECK(entry("/w", "d/l", K_LINK, 0777, "f") == 0, "%s", err);
	/* A symlink at a file's name is replaced, not followed. */
	CHECK(entry("/w", "victimlink", K_FILE, 0644, NULL) == 0, "%s", err);
	CHECK(data("mine\n") == 0 && data("") == 0, "%s", err);
	CHECK(end(4) == 1, "%s", err);

	struct stat st;
	char buf[64] = "";
	snprintf(p, sizeof(p), "%s/d/f", w);
	f = fopen(p, "r");
	CHECK(f && fgets(buf, sizeof(buf), f) && !strcmp(buf, "hello world\n"), "got '%s'", buf);
	if (f)
		fclose(f);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0640 && st.st_mtime == 1700000000,
	      "mode %o mtime %ld", st.st_mode & 07777, (long)st.st_mtime);
	snprintf(p, sizeof(p), "%s/d", w);
	CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750);
	snprintf(p, sizeof(p), "%s/d/l", w);
	CHECK(readlink(p, buf, sizeof(buf)) == 1 && buf[0] == 'f');
	snprintf(p, sizeof(p), "%s/victimlink", w);
	CHECK(lstat(p, &st) == 0 && S_ISREG(st.st_mode));

	/* Hostile names: each refused, nothing made. */
	const char *bad[] = { "../x", "d/../../x", "/x", "d//x", "d/", ".", "d/./x", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		CHECK(entry("/w", bad[i], K_FILE, 0644, NULL) < 0, "'%s' taken", bad[i]);
	/* Through a symlinked directory: refused, nothing outside. */
	CHECK(entry("/w", "escape/new", K_FILE, 0644, NULL) < 0, "through a symlink");
	CHECK(entry("/w", "escape/sub", K_DIR, 0755, NULL) < 0, "a directory through a symlink");
	CHECK(entry("/w", "escape/victim", K_GONE, 0, NULL) < 0, "removal through a symlink");
	CHECK(!exists(out, "new") && !exists(out, "sub") && exists(out, "victim"));
	snprintf(p, sizeof(p), "%s/victim", out);
	f = fopen(p, "r");
	CHECK(f && fgets(buf, sizeof(buf), f) && !strcmp(buf, "untouched\n"), "outside file now '%s'", buf);
	if (f)
		fclose(f);
	/* Writable paths the policy does not allow, or out of the root. */
	CHECK(entry("/ro", "x", K_FILE, 0644, NULL) == -EPERM, "%s", err);
	CHECK(entry("/w/..", "x", K_FILE, 0644, NULL) == -EPERM, "%s", err);
	CHECK(entry("/w/escape", "x", K_FILE, 0644, NULL) == -EPERM, "%s", err);
	CHECK(entry("w", "x", K_FILE, 0644, NULL) < 0);
	CHECK(!exists(root, "x") && !exists(root, "ro/x") && !exists(out, "x"));
	/* A writable directory given as a file's own path. */
	CHECK(entry("/w", "", K_FILE, 0644, NULL) < 0);
	/* Data outside a file; a file not ended before the next entry; a
	 * wrong count; set-uid bits dropped. */
	CHECK(data("stray") < 0);
	CHECK(entry("/w", "g", K_FILE, 06755, NULL) == 0, "%s", err);
	CHECK(entry("/w", "h", K_FILE, 0644, NULL) < 0);
	CHECK(data("") == 0, "%s", err);
	snprintf(p, sizeof(p), "%s/g", w);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0755, "mode %o", st.st_mode & 07777);
	CHECK(end(12345) < 0);
	/* Gone: a file and an emptied directory. */
	mtree_end();
	CHECK(begin(root, writable) == 0, "%s", err);
	CHECK(entry("/w", "d/l", K_GONE, 0, NULL) == 0 && entry("/w", "d/f", K_GONE, 0, NULL) == 0 &&
	      entry("/w", "d", K_GONE, 0, NULL) == 0, "%s", err);
	CHECK(end(3) == 1, "%s", err);
	CHECK(!exists(w, "d"));
	mtree_end();
	/* Before mtree_begin, nothing is taken. */
	CHECK(entry("/w", "z", K_FILE, 0644, NULL) < 0 && !exists(w, "z"));

	snprintf(p, sizeof(p), "rm -rf '%s'", base);
	if (system(p))
		printf("could not remove %s\n", base);
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
