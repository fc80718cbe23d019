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

/* p lies in the tree w (of length wlen; 0 means "/"). */
static bool within(const char *p, const char *w, size_t wlen)
{
	if (wlen == 0)
		return p[0] == '/';
	return !strncmp(p, w, wlen) && (p[wlen] == '\0' || p[wlen] == '/');
}

bool files_host_writable(struct files *f, const char *host)
{
	for (int i = 0; i < f->nwr; i++) {
		if (f->wr[i].dir ? within(host, f->wr[i].host, f->wr[i].len)
				 : !strcmp(host, f->wr[i].host))
			return true;
	}
	return false;
}

bool files_fd_writable(struct files *f, int fd)
{
	char host[PATH_MAX];

	return host_fd_path(fd, host, sizeof(host)) == 0 && files_host_writable(f, host);
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

int path_compose(struct domain *d, int dirfd, const char *path, char *out, size_t outlen)
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
		basefd = f->cwdfd;
	} else {
		struct ofd *o = fd_peek(d, dirfd);

		if (!o)
			return -EBADF;
		basefd = o->hostfd;
	}
	r = dir_guest_path(f, basefd, out, outlen);
	if (r < 0)
		return r;
	if (plen == 0)
		return 0;
	blen = strlen(out);
	if (blen + 1 + plen >= outlen)
		return -ENAMETOOLONG;
	if (out[blen - 1] != '/')
		out[blen++] = '/';
	memcpy(out + blen, path, plen + 1);
	return magic_dir(d, out, outlen);
}

/* /proc/self/exe names the guest's program, not the VMM: rewrites g. */
static void exe_alias(struct files *f, char *g, size_t len)
{
	if (f->exe && strlen(f->exe) < len &&
	    (!strcmp(g, "/proc/self/exe") || !strcmp(g, "/proc/thread-self/exe")))
		strcpy(g, f->exe);
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
	return reopen(o->hostfd, flags, mode);
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

/* Write intent on an existing file: pin it with O_PATH, check where the
 * kernel says it is, and reopen exactly that inode. */
static int open_write(struct domain *d, const char *g, int flags, mode_t mode)
{
	struct files *f = proc_cur(d)->files;
	bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
	struct stat st;
	int fd, r;
	mode_t old;

	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) && !tmpfile)
		return open_create(d, g, flags, mode);
	fd = path_open_root(f, g, O_PATH | (flags & (O_NOFOLLOW | O_DIRECTORY)), 0);
	if (fd == -ENOENT && (flags & O_CREAT) && !tmpfile)
		return open_create(d, g, flags, mode);
	if (fd < 0)
		return fd;
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
	if (!files_fd_writable(f, fd)) {
		if (!type_writable(st.st_mode, st.st_rdev, flags, tmpfile)) {
			r = -EROFS;
			goto out;
		}
	}
	old = host_umask_clear();
	r = reopen(fd, flags, mode);
	host_umask_restore(old);
out:
	close(fd);
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
	int r, n;

	flags = open_flags_clean(flags);
	mode = (mode & GUEST_MODE_BITS) & ~f->umask;
	r = path_compose(d, dirfd, path, g, PATH_MAX * 2);
	if (r < 0)
		return r;
	exe_alias(f, g, PATH_MAX * 2);
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
	char g[PATH_MAX * 2];
	int r, n;

	r = path_compose(d, dirfd, path, g, sizeof(g));
	if (r < 0)
		return r;
	if (follow)
		exe_alias(proc_cur(d)->files, g, sizeof(g));
	n = follow ? path_magic_fd(g) : -1;
	if (n >= 0) {
		struct ofd *o = fd_peek(d, n);

		if (!o)
			return -ENOENT;
		r = fcntl(o->hostfd, F_DUPFD_CLOEXEC, 0);
		return r < 0 ? -errno : r;
	}
	return path_open_root(proc_cur(d)->files, g,
			      O_PATH | (follow ? 0 : O_NOFOLLOW) | (dir ? O_DIRECTORY : 0), 0);
}

int path_parent(struct domain *d, int dirfd, const char *path, struct parent *p)
{
	struct files *f = proc_cur(d)->files;
	char g[PATH_MAX * 2], target[PATH_MAX + NAME_MAX + 2];
	size_t len, end, start, nlen, blen;
	int r;

	p->fd = -1;
	p->dot = p->writable = p->is_wroot = p->wfile = false;
	p->went = -1;
	r = path_compose(d, dirfd, path, g, sizeof(g));
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

		if (w->dir && within(p->host, w->host, w->len) && p->went < 0) {
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
