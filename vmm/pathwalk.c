/* pathwalk.c: lookups from a directory too deep to name (its path past
 * PATH_MAX): the guest's relative path walked component by component from
 * the held host directory, confined to the root as RESOLVE_IN_ROOT confines
 * a named path (".." stops at the root, absolute symlinks start there). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"

#define MAXSYMLINKS_K 40        /* Linux's nested-link bound: ELOOP past it */
#define MAX_UP 65536            /* a bound on walking up; no tree is deeper */

static bool same_inode(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Whether directory fd `fd` lies in the root. A guest's directories do (the
 * guest cannot move one out); this catches a host process that did. */
static int check_inside(struct files *f, int fd)
{
	char host[PATH_MAX], g[8];
	int r = host_fd_path(fd, host, sizeof(host));

	if (r == -ENAMETOOLONG)
		return 0;       /* deeper still: its named ancestor is checked */
	if (r < 0)
		return r;
	r = host_to_guest(f, host, g, sizeof(g));
	return r == -ENOENT ? -EXDEV : 0;
}

int walk_up(struct files *f, int fd)
{
	int up, r;

	if (same_inode(fd, f->rootfd)) {
		up = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		return up < 0 ? -errno : up;
	}
	up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (up < 0)
		return -errno;
	r = check_inside(f, up);
	if (r < 0) {
		close(up);
		return r;
	}
	return up;
}

/* Replaces *cur (owned) by next. */
static void step(int *cur, int next)
{
	close(*cur);
	*cur = next;
}

int walk_path(struct files *f, int basefd, const char *path, bool follow, char *name,
	      size_t namelen)
{
	char *buf = malloc(PATH_MAX * 2), *link = malloc(PATH_MAX);
	int cur = -1, links = 0, r;
	char *p;

	if (!buf || !link) {
		r = -ENOMEM;
		goto out;
	}
	if (strlen(path) >= PATH_MAX * 2) {
		r = -ENAMETOOLONG;
		goto out;
	}
	strcpy(buf, path);
	cur = fcntl(path[0] == '/' ? f->rootfd : basefd, F_DUPFD_CLOEXEC, 0);
	if (cur < 0) {
		r = -errno;
		goto out;
	}
	p = buf;
	for (;;) {
		while (*p == '/')
			p++;
		char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *rest = p + len;
		bool trailing = *rest == '/';

		while (*rest == '/')
			rest++;
		bool last = *rest == '\0';

		if (len > NAME_MAX) {
			r = -ENAMETOOLONG;
			goto out;
		}
		if (last && (len == 0 || (len == 1 && p[0] == '.') ||
			     (len == 2 && p[0] == '.' && p[1] == '.'))) {
			/* ".", ".." and "" stay literal for the caller */
			if (len + 1 > namelen) {
				r = -ENAMETOOLONG;
				goto out;
			}
			memcpy(name, len ? p : ".", len ? len : 1);
			name[len ? len : 1] = '\0';
			r = cur;
			cur = -1;
			goto out;
		}
		char comp[NAME_MAX + 1];
		memcpy(comp, p, len);
		comp[len] = '\0';
		if (!strcmp(comp, ".")) {
			p = rest;
			continue;
		}
		if (!strcmp(comp, "..")) {
			r = walk_up(f, cur);
			if (r < 0)
				goto out;
			step(&cur, r);
			p = rest;
			continue;
		}
		struct stat st;
		if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			if (r != -ENOENT || !last)
				goto out;
			st.st_mode = 0;  /* a name to create */
		}
		if (S_ISLNK(st.st_mode) && (!last || follow)) {
			if (++links > MAXSYMLINKS_K) {
				r = -ELOOP;
				goto out;
			}
			ssize_t n = readlinkat(cur, comp, link, PATH_MAX);
			if (n < 0) {
				r = -errno;
				goto out;
			}
			if (n >= PATH_MAX || (size_t)n + 2 + strlen(rest) >= PATH_MAX * 2) {
				r = -ENAMETOOLONG;
				goto out;
			}
			/* The target, then what followed the link. */
			size_t rl = strlen(rest);
			memmove(buf + n + 1, rest, rl + 1);
			memcpy(buf, link, (size_t)n);
			buf[n] = (rl || trailing) ? '/' : '\0';
			if (!rl && trailing)
				buf[n + 1] = '\0';
			if (link[0] == '/') {
				r = fcntl(f->rootfd, F_DUPFD_CLOEXEC, 0);
				if (r < 0) {
					r = -errno;
					goto out;
				}
				step(&cur, r);
			}
			p = buf;
			continue;
		}
		if (last) {
			if (len + 2 > namelen) {
				r = -ENAMETOOLONG;
				goto out;
			}
			memcpy(name, comp, len);
			if (trailing)
				name[len++] = '/';
			name[len] = '\0';
			r = cur;
			cur = -1;
			goto out;
		}
		if (!S_ISDIR(st.st_mode)) {
			r = -ENOTDIR;
			goto out;
		}
		r = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (r < 0) {
			r = -errno;
			goto out;
		}
		step(&cur, r);
		p = rest;
	}
out:
	if (cur >= 0)
		close(cur);
	free(buf);
	free(link);
	return r;
}

int walk_inside(struct files *f, int dirfd)
{
	char host[PATH_MAX], g[8];
	int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 0), r = -ENOENT;

	if (cur < 0)
		return -errno;
	for (int i = 0; i < MAX_UP; i++) {
		int e = host_fd_path(cur, host, sizeof(host));

		if (e == 0) {
			r = host_to_guest(f, host, g, sizeof(g)) == -ENOENT ? -ENOENT : 0;
			break;
		}
		if (e != -ENAMETOOLONG) {
			r = e;
			break;
		}
		int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up < 0) {
			r = -errno;
			break;
		}
		step(&cur, up);
	}
	close(cur);
	return r;
}

int walk_went(struct files *f, int dirfd)
{
	char host[PATH_MAX];
	int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 0), r = -1;

	if (cur < 0)
		return -1;
	for (int i = 0; i < MAX_UP; i++) {
		int e = host_fd_path(cur, host, sizeof(host));

		if (e == 0) {
			for (int w = 0; w < f->nwr && r < 0; w++)
				if (f->wr[w].dir && files_host_within(host, f->wr[w].host, f->wr[w].len))
					r = w;
			break;
		}
		if (e != -ENAMETOOLONG)
			break;
		int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up < 0)
			break;
		step(&cur, up);
	}
	close(cur);
	return r;
}

static __thread struct {
	int fd, went;
	dev_t dev;
	ino_t ino;
} memo = { .fd = -1 };

void walk_memo(int fd, int went)
{
	struct stat st;

	memo.fd = -1;
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode))
		return;
	memo.fd = fd;
	memo.went = went;
	memo.dev = st.st_dev;
	memo.ino = st.st_ino;
}

int walk_memo_went(int fd, const struct stat *st)
{
	if (memo.fd != fd || memo.dev != st->st_dev || memo.ino != st->st_ino)
		return -1;
	return memo.went;
}
