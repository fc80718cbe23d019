/* test_imgrace.c: issue 15, hole 8 — an image directory swapped for a symlink between img_commit's checks and its rename; the symlink's target must be left whole. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "snapshot/image.h"
#include "check.h"

static char base[256], dir[300], victim[300];
static int swap_armed;

/* The attacker, made deterministic: this executable's renameat2 comes
 * before glibc's, so img_commit's swap of the old image for the new one
 * finds DIR already replaced by a symlink to a directory of someone
 * else's files, after every check img_commit made on DIR. */
int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags)
{
	if (swap_armed && !strcmp(newpath, dir)) {
		swap_armed = 0;
		char aside[400];
		snprintf(aside, sizeof(aside), "%s.aside", dir);
		if (rename(dir, aside) || symlink(victim, dir))
			return -1;
	}
	return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

static int snapshot_into(const char *d)
{
	struct img_writer w;
	struct img_meta m = { 0 };
	char err[512];
	int r = img_begin(&w, d, err, sizeof(err));
	if (!r)
		r = img_put(&w, "domain", 1, true, "x", 1, err, sizeof(err));
	if (!r) {
		snprintf(m.id, sizeof(m.id), "%s", w.id);
		strcpy(m.name, "race");
		r = img_commit(&w, &m, err, sizeof(err));
	}
	if (r)
		printf("# commit: %s\n", err);
	return r;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof(base), "%s/pdvm-imgrace.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base))
		return 1;
	snprintf(dir, sizeof(dir), "%s/img", base);
	snprintf(victim, sizeof(victim), "%s/victim", base);
	CHECK(mkdir(victim, 0755) == 0, "victim directory");
	int fd = open(strcat(strcpy((char[400]){ 0 }, victim), "/precious.bin"), O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0 && write(fd, "keep", 4) == 4 && close(fd) == 0, "victim's file");
	CHECK(snapshot_into(dir) == 0, "first image");
	swap_armed = 1;
	int r = snapshot_into(dir);
	CHECK(!swap_armed, "the swap happened inside img_commit");
	char p[400];
	snprintf(p, sizeof(p), "%s/precious.bin", victim);
	struct stat st;
	CHECK(stat(p, &st) == 0 && st.st_size == 4, "the symlink's target keeps its files (commit returned %d)", r);
	CHECK(lstat(victim, &st) == 0 && S_ISDIR(st.st_mode), "the target is still a directory");
	printf("test_imgrace: %d checks, %d failed\n", checks, failures);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd))
		return 1;
	return failures ? 1 : 0;
}
