/* path.c: confined path resolution — every guest path is resolved by the
 * kernel inside the root (openat2 RESOLVE_IN_ROOT), and write intent is
 * checked against the writable trees by kernel-reported host paths. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "domain.h"
#include "files.h"
#include "procdir.h"
#include "procfs.h"
#include "uaccess.h"

#define RES_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

/* Open flags Linux accepts; the rest are ignored by open(2) like Linux. */
#define VALID_OPEN_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | \
	O_APPEND | O_NONBLOCK | O_DSYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | \
	O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_SYNC | O_PATH | O_TMPFILE)
#define O_PATH_FLAGS (O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC)

mode_t host_umask_clear(void)
{
	return umask(0);
}

void host_umask_restore(mode_t old)
{
	umask(old);
}

static long openat2_host(int dirfd, const char *path, int flags, mode_t mode, uint64_t res)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOCTTY),
		.resolve = res,
	};
	long r;

	if (flags & O_PATH)
		how.flags &= ~(uint64_t)O_NOCTTY;
	if (flags & (O_CREAT | O_TMPFILE))
		how.mode = mode & GUEST_MODE_BITS;
	r = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	return r < 0 ? -errno : r;
}

int host_fd_path(int fd, char *buf, size_t len)
{
	char link[32];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len);
	if (n < 0)
		return -errno;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

int host_to_guest(struct files *f, const char *host, char *out, size_t len)
{
	const char *g;

	if (host[0] != '/')
		return -ENOENT;
	if (f->root_len == 0)
		g = host;
	else if (!strncmp(host, f->root_host, f->root_len) &&
		 (host[f->root_len] == '\0' || host[f->root_len] == '/'))
		g = host[f->root_len] ? host + f->root_len : "/";
	else
		return -ENOENT;
	if (strlen(g) >= len)
		return -ENAMETOOLONG;
	strcpy(out, g);
	return 0;
}

bool files_host_within(const char *p, const char *w, size_t wlen)
{
	if (wlen == 0)
		return p[0] == '/';
	return !strncmp(p, w, wlen) && (p[wlen] == '\0' || p[wlen] == '/');
}

bool files_host_writable(struct files *f, const char *host)
{
	for (int i = 0; i < f->nwr; i++) {
		if (f->wr[i].dir ? files_host_within(host, f->wr[i].host, f->wr[i].len)
				 : !strcmp(host, f->wr[i].host))
			return true;
	}
	return false;
}

/* Writable tree of a file too deep to name: a directory's by its named
 * ancestor, another file's as the lookup that opened it found it. */
static int deep_tree(struct files *f, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode))
		return walk_went(f, fd);
	return walk_memo_went(fd, &st);
}

bool files_fd_writable(struct files *f, int fd)
{
	char host[PATH_MAX];
	int r = host_fd_path(fd, host, sizeof(host));

	if (r == -ENAMETOOLONG)
		return deep_tree(f, fd) >= 0;
	return r == 0 && files_host_writable(f, host);
}

int files_fd_tree(struct files *f, int fd)
{
	char host[PATH_MAX];
	int r = host_fd_path(fd, host, sizeof(host));

	if (r == -ENAMETOOLONG)
		return deep_tree(f, fd);
	if (r < 0)
		return -1;
	for (int i = 0; i < f->nwr; i++)
		if (f->wr[i].dir && files_host_within(host, f->wr[i].host, f->wr[i].len))
			return i;
	return -1;
}

int path_from_user(struct domain *d, uint64_t gva, char *buf, bool empty_ok)
{
	long r = strncpy_from_user(d, buf, gva, PATH_MAX);

	if (r < 0)
		return (int)r;
	if (r == 0 && !empty_ok)
		return -ENOENT;
	return (int)r;
}

/* Guest path of a directory open on host fd `fd`. */
static int dir_guest_path(struct files *f, int fd, char *out, size_t len)
{
	char host[PATH_MAX];
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_nlink == 0)
		return -ENOENT;         /* removed directory */
	r = host_fd_path(fd, host, sizeof(host));
	if (r < 0)
		return r;
	return host_to_guest(f, host, out, len);
}

int files_dir_path(struct files *f, int fd, char *out, size_t len)
{
	return dir_guest_path(f, fd, out, len);
}

static int parse_fdnum(const char *s)
{
	long n = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || n > FD_LIMIT_MAX)
			return -1;
		n = n * 10 + (*s - '0');
	}
	return n > FD_LIMIT_MAX ? -1 : (int)n;
}

static const char *const magic_pre[] = { "/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/" };

/* /dev/fd/N/REST (and /proc/self/fd/N/REST): the magic link of directory
 * fd N walked through, as Linux does (a script run by execveat on a
 * directory fd is named so): g becomes the directory's guest path and REST;
 * ENOTDIR when fd N is no directory, ENOENT when it is not open. */
static int magic_dir(struct domain *d, char *g, size_t len)
{
	char dir[PATH_MAX * 2], num[16];
	static const char *const cwd_pre[] = { "/proc/self/cwd", "/proc/thread-self/cwd" };

	/* /proc/self/cwd[/REST]: the caller's working directory (the host's
	 * link would name pdvm's own). Too deep to name: ENAMETOOLONG, as
	 * Linux's d_path answers. */
	for (size_t i = 0; i < ARRAY_SIZE(cwd_pre); i++) {
		size_t l = strlen(cwd_pre[i]);
		if (strncmp(g, cwd_pre[i], l) || (g[l] && g[l] != '/'))
			continue;
		/* /proc/self is the process: its main thread's directory. */
		struct thread *t = thread_self();
		bool own = i == 1 || !t || t->tid == t->proc->pid;
		int r = dir_guest_path(proc_cur(d)->files, own ? *fs_cwdfd(d) : proc_cur(d)->files->cwdfd,
				       dir, sizeof(dir));
		if (r < 0)
			return r;
		const char *rest = g + l;
		size_t dl = strlen(dir);
		if (dir[dl - 1] == '/' && *rest == '/')
			rest++;
		if (dl + strlen(rest) >= len)
			return -ENAMETOOLONG;
		memmove(g + dl, rest, strlen(rest) + 1);
		memcpy(g, dir, dl);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(magic_pre); i++) {
		size_t l = strlen(magic_pre[i]);
		const char *slash = strncmp(g, magic_pre[i], l) ? NULL : strchr(g + l, '/');
		if (!slash || (size_t)(slash - g - l) >= sizeof(num))
			continue;
		memcpy(num, g + l, (size_t)(slash - g - l));
		num[slash - g - l] = '\0';
		int n = parse_fdnum(num);
		if (n < 0)
			continue;
		struct ofd *o = fd_peek(d, n);
		if (!o)
			return -ENOENT;
		int r = dir_guest_path(proc_cur(d)->files, o->hostfd, dir, sizeof(dir));
		if (r < 0)
			return r;
		if (strlen(dir) + strlen(slash) >= len)
			return -ENAMETOOLONG;
		size_t dl = strlen(dir);
		const char *rest = slash + (dir[dl - 1] == '/'); /* the root "/" */
		memmove(g + dl, rest, strlen(rest) + 1);
		memcpy(g, dir, dl);
		return 0;
	}
	return 0;
}

#define DEEP 1 /* compose(): walk from the base instead (vmm/pathwalk.c) */

/* path_compose, except that a relative path whose composed form would not
 * fit PATH_MAX (its base directory too deep to name, or the two together too
 * long for the host's lookup) is left alone: DEEP, with *base the held
 * directory to walk it from. Linux looks such a path up from the base's
 * dentry whatever its depth. */
static int compose(struct domain *d, int dirfd, const char *path, char *out, size_t outlen,
		   int *base)
{
	struct files *f = proc_cur(d)->files;
	size_t plen = strlen(path), blen;
	int basefd, r;

	if (path[0] == '/') {
		if (plen >= outlen)
			return -ENAMETOOLONG;
		memcpy(out, path, plen + 1);
		return magic_dir(d, out, outlen);
	}
	if (dirfd == AT_FDCWD) {
		basefd = *fs_cwdfd(d);
	} else {
		struct ofd *o = fd_peek(d, dirfd);

		if (!o)
			return -EBADF;
		basefd = o->hostfd;
	}
	r = dir_guest_path(f, basefd, out, outlen);
	if (r == -ENAMETOOLONG && plen) {
		/* Only from inside the root, as a named base is checked. */
		r = walk_inside(f, basefd);
		if (r < 0)
			return r;
		*base = basefd;
		return DEEP;
	}
	if (r < 0)
		return r;
	if (plen == 0)
		return 0;
	blen = strlen(out);
	if (blen + 1 + plen >= PATH_MAX) {
		*base = basefd;
		return DEEP;
	}
	if (out[blen - 1] != '/')
		out[blen++] = '/';
	memcpy(out + blen, path, plen + 1);
	return magic_dir(d, out, outlen);
}

int path_compose(struct domain *d, int dirfd, const char *path, char *out, size_t outlen)
{
	int base, r = compose(d, dirfd, path, out, outlen, &base);

	return r == DEEP ? -ENAMETOOLONG : r;
}

/* The final open of a walked path: its name beneath the directory, ".." the
 * directory's parent (the root's is the root). */
static int open_final(struct files *f, int dirfd, const char *name, int flags, mode_t mode)
{
	int up, r;

	if (strcmp(name, "..")) {
		r = (int)openat2_host(dirfd, name, flags, mode, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
	} else {
		up = walk_up(f, dirfd);
		if (up < 0)
			return up;
		r = (int)openat2_host(up, ".", flags, mode, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
		close(up);
	}
	/* A walk may end in /proc too (a symlink restarts at the root). */
	if (r >= 0 && procdir_fd_denied(r)) {
		close(r);
		return -ENOENT;
	}
	return r;
}

/* /proc/self/exe, /proc/PID/exe and task/TID/exe name a guest program,
 * not the VMM: rewrites g to that program's path. */
static void exe_alias(struct domain *d, char *g, size_t len)
{
	struct process *p;
	const char *r;

	if (strncmp(g, "/proc/", 6) || !(r = procfs_rest(d, g, &p)) || strcmp(r, "exe"))
		return;
	if (p->files && p->files->exe && strlen(p->files->exe) < len)
		snprintf(g, len, "%s", p->files->exe);
}

int path_magic_fd(const char *g)
{
	if (!strcmp(g, "/dev/stdin"))
		return 0;
	if (!strcmp(g, "/dev/stdout"))
		return 1;
	if (!strcmp(g, "/dev/stderr"))
		return 2;
	for (size_t i = 0; i < ARRAY_SIZE(magic_pre); i++)
		if (!strncmp(g, magic_pre[i], strlen(magic_pre[i])))
			return parse_fdnum(g + strlen(magic_pre[i]));
	return -1;
}

int path_open_root(struct files *f, const char *gpath, int flags, mode_t mode)
{
	struct thread *t = thread_self();
	char buf[PATH_MAX + 16];
	const char *h = procdir_host_path(t ? t->dom : NULL, gpath, buf, sizeof(buf));
	int fd;

	if (!h)
		return -errno;
	fd = (int)openat2_host(f->rootfd, h, flags, mode, RES_ROOT);
	/* Checked after the lookup: a symlink can lead into /proc too. */
	if (fd >= 0 && procdir_fd_denied(fd)) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

static int reopen(int fd, int flags, mode_t mode)
{
	char link[32];
	int r;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	r = open(link, (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC | O_NOCTTY,
		 mode & GUEST_MODE_BITS);
	return r < 0 ? -errno : r;
}

static bool write_intent(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) ||
	       (flags & O_TMPFILE) == O_TMPFILE;
}

/* Character devices a read-only tree still lets the guest open for writing:
 * the harmless ones a program expects (null, zero, full, random, urandom,
 * tty, ptmx, pts). Others (mem, disks...) need a writable tree. */
static bool char_dev_ok(dev_t rdev)
{
	unsigned ma = major(rdev), mi = minor(rdev);

	if (ma == 1)
		return mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9;
	if (ma == 5)
		return mi == 0 || mi == 2;
	return ma >= 136 && ma <= 143;
}

/* Whether a file outside the writable trees may be opened with write intent:
 * regular files and directories no (O_CREAT of an existing file only reads
 * it), block devices no, character devices only the harmless ones, FIFOs
 * and sockets yes. The same rule for a path and for a reopen through
 * /proc/self/fd. */
static bool type_writable(mode_t type, dev_t rdev, int flags, bool tmpfile)
{
	if (S_ISREG(type) || S_ISDIR(type))
		return (flags & O_ACCMODE) == O_RDONLY && !(flags & O_TRUNC) && !tmpfile;
	if (S_ISCHR(type))
		return char_dev_ok(rdev);
	return !S_ISBLK(type);
}

/* /dev/stdout, /proc/self/fd/N...: reopens the guest fd's file like Linux
 * follows the magic link. */
static int open_magic(struct domain *d, int n, int flags, mode_t mode)
{
	struct ofd *o = fd_peek(d, n);

	if (!o)
		return -ENOENT;
	if (flags & O_PATH) {
		int r = fcntl(o->hostfd, F_DUPFD_CLOEXEC, 0);

		return r < 0 ? -errno : r;
	}
	/* A file may be reopened for writing if it lies in a writable tree or
	 * the guest already holds it open for writing (stdout redirected to a
	 * host file, say), or if its type lets any path open it so. */
	if (write_intent(flags) && (o->flags & O_ACCMODE) == O_RDONLY &&
	    !files_fd_writable(proc_cur(d)->files, o->hostfd)) {
		struct stat st;
		if (fstat(o->hostfd, &st) < 0)
			return -errno;
		if (!type_writable(st.st_mode, st.st_rdev, flags, false))
			return -EROFS;
	}
	int r = reopen(o->hostfd, flags, mode);
	/* An O_PATH fd of a /proc entry the guest may only look at (the
	 * VMM's own maps or mem behind a synthetic name) opens no further. */
	if (r >= 0 && procdir_fd_denied(r)) {
		close(r);
		return -ENOENT;
	}
	return r;
}

/* Creation: the parent must be in a writable tree and the final component is
 * opened beneath that tree, so a symlink cannot lead out of it. */
static int open_create(struct domain *d, const char *g, int flags, mode_t mode)
{
	struct files *f = proc_cur(d)->files;
	struct parent p;
	struct stat st;
	mode_t old;
	long r;

	r = path_parent(d, AT_FDCWD, g, &p);
	if (r < 0)
		return (int)r;
	if (p.dot) {
		r = -EISDIR;
	} else if (!p.writable) {
		bool exists = fstatat(p.fd, p.name, &st, AT_SYMLINK_NOFOLLOW) == 0;

		r = exists && (flags & O_EXCL) ? -EEXIST : -EROFS;
	} else {
		old = host_umask_clear();
		if (p.wfile) {
			r = openat2_host(p.fd, p.name, flags, mode, RESOLVE_BENEATH |
					 RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS);
		} else {
			/* Path of the parent below its writable tree: resolving
			 * from the tree's root lets in-tree symlinks (../x) work
			 * while RESOLVE_BENEATH keeps everything inside. */
			struct wentry *w = &f->wr[p.went];
			const char *rel = p.host + w->len;
			char buf[PATH_MAX + NAME_MAX + 2];

			while (*rel == '/')
				rel++;
			if ((size_t)snprintf(buf, sizeof(buf), "%s%s%s", rel, *rel ? "/" : "",
					     p.name) >= sizeof(buf))
				r = -ENAMETOOLONG;
			else
				r = openat2_host(w->fd, buf, flags, mode,
						 RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
		}
		host_umask_restore(old);
		if (r == -EXDEV)
			r = -EROFS;     /* the target lies outside the writable tree */
	}
	parent_done(&p);
	return (int)r;
}

/* Write intent on the existing file pinned by O_PATH fd `fd` (closed here):
 * check what it is and where (writable: it lies in a writable tree), and
 * reopen exactly that inode. */
static int open_pinned(int fd, bool writable, int flags, mode_t mode)
{
	bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
	struct stat st;
	mode_t old;
	int r;

	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (S_ISLNK(st.st_mode)) {
		r = -ELOOP;     /* O_NOFOLLOW on a symlink */
		goto out;
	}
	if (S_ISDIR(st.st_mode) && !tmpfile) {
		r = -EISDIR;
		goto out;
	}
	if (!tmpfile && (flags & O_DIRECTORY)) {
		r = -ENOTDIR;
		goto out;
	}
	if (!writable && !type_writable(st.st_mode, st.st_rdev, flags, tmpfile)) {
		r = -EROFS;
		goto out;
	}
	old = host_umask_clear();
	r = reopen(fd, flags, mode);
	host_umask_restore(old);
out:
	close(fd);
	return r;
}

/* Write intent on an existing file: pin it with O_PATH, check where the
 * kernel says it is, and reopen exactly that inode. */
static int open_write(struct domain *d, const char *g, int flags, mode_t mode)
{
	struct files *f = proc_cur(d)->files;
	bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
	int fd;

	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) && !tmpfile)
		return open_create(d, g, flags, mode);
	fd = path_open_root(f, g, O_PATH | (flags & (O_NOFOLLOW | O_DIRECTORY)), 0);
	if (fd == -ENOENT && (flags & O_CREAT) && !tmpfile)
		return open_create(d, g, flags, mode);
	if (fd < 0)
		return fd;
	return open_pinned(fd, files_fd_writable(f, fd), flags, mode);
}

/* path_open of a path walked from a directory too deep to name: the same
 * rules, with the writable tree found from the final directory. */
static int open_deep(struct files *f, int base, const char *path, int flags, mode_t mode)
{
	bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
	bool excl = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) && !tmpfile;
	char name[NAME_MAX + 2];
	struct stat st;
	int dfd, fd, r;
	mode_t old;

	dfd = walk_path(f, base, path, !(flags & O_NOFOLLOW) && !excl, name, sizeof(name));
	if (dfd < 0)
		return dfd;
	if ((flags & O_PATH) || !write_intent(flags)) {
		r = open_final(f, dfd, name, flags, 0);
		if (r >= 0)
			walk_memo(r, walk_went(f, dfd));
		goto out;
	}
	fd = excl ? -ENOENT : open_final(f, dfd, name, O_PATH | (flags & (O_NOFOLLOW | O_DIRECTORY)), 0);
	if (fd >= 0) {
		r = open_pinned(fd, walk_went(f, dfd) >= 0, flags, mode);
		goto out;
	}
	if (fd != -ENOENT || !(flags & O_CREAT) || tmpfile) {
		r = fd;
		goto out;
	}
	if (!strcmp(name, ".") || !strcmp(name, "..")) {
		r = -EISDIR;
	} else if (walk_went(f, dfd) < 0) {
		r = excl && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? -EEXIST : -EROFS;
	} else {
		old = host_umask_clear();
		r = (int)openat2_host(dfd, name, flags, mode,
				      RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS);
		host_umask_restore(old);
		if (r == -EXDEV)
			r = -EROFS;
	}
out:
	close(dfd);
	return r;
}

int open_flags_clean(int flags)
{
	flags &= VALID_OPEN_FLAGS;
	if (flags & O_PATH)
		flags &= O_PATH_FLAGS;
	return flags;
}

int path_open(struct domain *d, int dirfd, const char *path, int flags, mode_t mode,
	      char *gpath)
{
	struct files *f = proc_cur(d)->files;
	char gbuf[PATH_MAX * 2], *g = gpath ? gpath : gbuf;
	int base, r, n;

	flags = open_flags_clean(flags);
	mode = (mode & GUEST_MODE_BITS) & ~*fs_umask(d);
	r = compose(d, dirfd, path, g, PATH_MAX * 2, &base);
	if (r == DEEP) {
		snprintf(g, PATH_MAX * 2, "%s", path);  /* as much as is known */
		return open_deep(f, base, path, flags, mode);
	}
	if (r < 0)
		return r;
	exe_alias(d, g, PATH_MAX * 2);
	n = path_magic_fd(g);
	if (n >= 0)
		return open_magic(d, n, flags, mode);
	if (!(flags & O_PATH)) {
		r = procfs_open(d, thread_self(), g, flags);
		if (r != PROCFS_NOT_OURS)
			return r;
	}
	if (!(flags & O_PATH) && write_intent(flags))
		return open_write(d, g, flags, mode);
	return path_open_root(f, g, flags, 0);
}

int path_fifo_lookup(struct domain *d, int dirfd, const char *path, int flags, char *gpath)
{
	struct stat st;
	int fd;

	flags = open_flags_clean(flags);
	/* Cheap exits first: this costs every other open one more lookup. */
	if ((flags & (O_NONBLOCK | O_PATH | O_DIRECTORY)) || (flags & O_ACCMODE) == O_RDWR ||
	    (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
		return -1;
	fd = path_open(d, dirfd, path, O_PATH | (flags & O_NOFOLLOW), 0, gpath);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

int path_reopen(int fd, int flags)
{
	return reopen(fd, open_flags_clean(flags) & ~O_TRUNC, 0);
}

int path_lookup(struct domain *d, int dirfd, const char *path, bool follow, bool dir)
{
	int flags = O_PATH | (follow ? 0 : O_NOFOLLOW) | (dir ? O_DIRECTORY : 0);
	struct files *f = proc_cur(d)->files;
	char g[PATH_MAX * 2];
	int base, r, n;

	r = compose(d, dirfd, path, g, sizeof(g), &base);
	if (r == DEEP) {
		char name[NAME_MAX + 2];
		int dfd = walk_path(f, base, path, follow, name, sizeof(name));

		if (dfd < 0)
			return dfd;
		r = open_final(f, dfd, name, flags, 0);
		if (r >= 0)
			walk_memo(r, walk_went(f, dfd));
		close(dfd);
		return r;
	}
	if (r < 0)
		return r;
	if (follow)
		exe_alias(d, g, sizeof(g));
	n = follow ? path_magic_fd(g) : -1;
	if (n >= 0) {
		struct ofd *o = fd_peek(d, n);

		if (!o)
			return -ENOENT;
		r = fcntl(o->hostfd, F_DUPFD_CLOEXEC, 0);
		return r < 0 ? -errno : r;
	}
	return path_open_root(f, g, flags, 0);
}

int path_parent(struct domain *d, int dirfd, const char *path, struct parent *p)
{
	struct files *f = proc_cur(d)->files;
	char g[PATH_MAX * 2], target[PATH_MAX + NAME_MAX + 2];
	size_t len, end, start, nlen, blen;
	int base, r;

	p->fd = -1;
	p->dot = p->writable = p->is_wroot = p->wfile = p->deep = false;
	p->went = -1;
	r = compose(d, dirfd, path, g, sizeof(g), &base);
	if (r == DEEP) {
		/* No writable entry is this deep: only the tree matters. */
		r = walk_path(f, base, path, false, p->name, sizeof(p->name));
		if (r < 0)
			return r;
		p->fd = r;
		p->deep = true;
		p->host[0] = '\0';
		p->dot = !strcmp(p->name, ".") || !strcmp(p->name, "..");
		p->went = walk_went(f, p->fd);
		p->writable = p->went >= 0;
		return 0;
	}
	if (r < 0)
		return r;
	len = strlen(g);
	end = len;
	while (end > 1 && g[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && g[start - 1] != '/')
		start--;
	nlen = blen = end - start;
	if (nlen > NAME_MAX)
		return -ENAMETOOLONG;
	/* The name keeps one trailing slash so the kernel applies the
	 * "must be a directory" rule itself. */
	memcpy(p->name, g + start, nlen);
	if (end < len)
		p->name[nlen++] = '/';
	p->name[nlen] = '\0';
	if (blen == 0 || !strncmp(g + start, ".", blen) || !strncmp(g + start, "..", blen)) {
		p->dot = true;
		if (blen == 0)
			strcpy(p->name, ".");
	}
	/* Parent: everything before the final component ("/" at least; g is
	 * absolute so start >= 1). */
	while (start > 1 && g[start - 1] == '/')
		start--;
	g[start] = '\0';

	p->fd = path_open_root(f, g, O_PATH | O_DIRECTORY, 0);
	if (p->fd < 0) {
		r = p->fd;
		p->fd = -1;
		return r;
	}
	r = host_fd_path(p->fd, p->host, sizeof(p->host));
	if (r < 0) {
		parent_done(p);
		return r;
	}
	snprintf(target, sizeof(target), "%s/%.*s", strcmp(p->host, "/") ? p->host : "",
		 (int)blen, p->name);
	for (int i = 0; i < f->nwr; i++) {
		struct wentry *w = &f->wr[i];

		if (w->dir && files_host_within(p->host, w->host, w->len) && p->went < 0) {
			p->writable = true;
			p->went = i;
		}
		if (!p->dot && !strcmp(target, w->host)) {
			p->is_wroot = true;
			if (!w->dir) {
				p->wfile = true;
				p->writable = true;
			}
		}
	}
	return 0;
}

void parent_done(struct parent *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}
