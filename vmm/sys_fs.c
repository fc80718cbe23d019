/* sys_fs.c: path syscalls — open, stat, directory and name operations,
 * attributes — all resolved inside the root, writes only in writable trees —
 * and sys_fs_table. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "domain.h"
#include "pcache.h"
#include "files.h"
#include "memfd.h"
#include "procdir.h"
#include "procmem.h"
#include "syscall.h"
#include "uaccess.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE  (1 << 1)
#define RENAME_WHITEOUT  (1 << 2)
#endif
#ifndef AT_NO_AUTOMOUNT
#define AT_NO_AUTOMOUNT 0x800
#endif
#define STATX_SYNC_MASK 0x6000
#define STATX_RESERVED  0x80000000U

static int proc_fd_path(int fd, char *buf, size_t len)
{
	return snprintf(buf, len, "/proc/self/fd/%d", fd) >= (int)len ? -ENAMETOOLONG : 0;
}

/* ---- open ---- */

static long do_open(struct thread *t, int dirfd, uint64_t upath, int flags, mode_t mode)
{
	struct domain *d = t->dom;
	char path[PATH_MAX], g[PATH_MAX * 2];
	struct ofd *o;
	int hfd, r, fl;

	r = path_from_user(d, upath, path, false);
	if (r < 0)
		return r;
	r = fd_find_free(d, 0);
	if (r < 0)
		return r;
	hfd = path_fifo_lookup(d, dirfd, path, flags, g);
	if (hfd >= 0) {
		int pfd = hfd;

		if (exl_serving()) {
			close(pfd);
			return -ERESTART_SYSCALL;       /* it waits: the exit's to do */
		}
		dom_block_begin(t);
		hfd = path_reopen(pfd, flags);
		dom_block_end(t);
		close(pfd);
		if (hfd == -EINTR)
			return -ERESTART_SYSCALL;
	} else {
		hfd = path_open(d, dirfd, path, flags, mode, g);
	}
	if (hfd < 0)
		return hfd;
	fl = open_flags_clean(flags) & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
	/* /proc/self/fd/N of a memfd opens a new description of the memfd. */
	int mem_pid = procmem_target(d, g);
	o = ofd_new(hfd, fl, mem_pid ? OFD_PROCMEM : path_magic_fd(g) >= 0 && memfd_is(hfd) ? OFD_MEMFD : OFD_FILE, g);
	if (!o)
		return -ENOMEM;
	o->aux = mem_pid;
	return fd_install(d, o, 0, flags & O_CLOEXEC);
}

static long sys_open(struct thread *t, const uint64_t a[6])
{
	return do_open(t, AT_FDCWD, a[0], (int)a[1], (mode_t)a[2]);
}

static long sys_openat(struct thread *t, const uint64_t a[6])
{
	return do_open(t, (int)a[0], a[1], (int)a[2], (mode_t)a[3]);
}

static long sys_creat(struct thread *t, const uint64_t a[6])
{
	return do_open(t, AT_FDCWD, a[0], O_CREAT | O_WRONLY | O_TRUNC, (mode_t)a[1]);
}

/* ---- lookups ---- */

/* O_PATH-like handle for (dirfd, path): the fd itself for an empty path with
 * AT_EMPTY_PATH (*owned false), else a fresh handle. */
static int get_handle(struct domain *d, int dirfd, uint64_t upath, int flags, bool follow,
		      bool *owned)
{
	char path[PATH_MAX];
	int r;

	*owned = false;
	if (upath == 0 && (flags & AT_EMPTY_PATH))
		path[0] = '\0';
	else if ((r = path_from_user(d, upath, path, flags & AT_EMPTY_PATH)) < 0)
		return r;
	if (path[0] == '\0') {
		if (dirfd == AT_FDCWD)
			return *fs_cwdfd(d);
		struct ofd *o = fd_peek(d, dirfd);

		return o ? o->hostfd : -EBADF;
	}
	r = path_lookup(d, dirfd, path, follow, false);
	if (r >= 0)
		*owned = true;
	return r;
}

static void put_handle(int h, bool owned)
{
	if (owned)
		close(h);
}

static long do_stat(struct thread *t, int dirfd, uint64_t upath, uint64_t ubuf, int flags)
{
	struct domain *d = t->dom;
	struct stat st;
	bool owned;
	int h, r;

	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
		return -EINVAL;
	h = get_handle(d, dirfd, upath, flags, !(flags & AT_SYMLINK_NOFOLLOW), &owned);
	if (h < 0)
		return h;
	r = fstat(h, &st) < 0 ? -errno : 0;
	put_handle(h, owned);
	if (r < 0)
		return r;
	return stat_to_user(d, ubuf, &st);
}

long stat_to_user(struct domain *d, uint64_t ubuf, struct stat *st)
{
	st->st_uid = cred_uid_out(&d->cred, st->st_uid);
	st->st_gid = cred_gid_out(&d->cred, st->st_gid);
	return copy_to_user(d, ubuf, st, sizeof(*st));
}

static long sys_stat(struct thread *t, const uint64_t a[6])
{
	return do_stat(t, AT_FDCWD, a[0], a[1], 0);
}

static long sys_lstat(struct thread *t, const uint64_t a[6])
{
	return do_stat(t, AT_FDCWD, a[0], a[1], AT_SYMLINK_NOFOLLOW);
}

static long sys_newfstatat(struct thread *t, const uint64_t a[6])
{
	return do_stat(t, (int)a[0], a[1], a[2], (int)a[3]);
}

static long sys_statx(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int flags = (int)a[2];
	unsigned int mask = (unsigned int)a[3];
	struct statx stx;
	bool owned;
	int h, r;

	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | STATX_SYNC_MASK))
		return -EINVAL;
	if ((flags & STATX_SYNC_MASK) == STATX_SYNC_MASK || (mask & STATX_RESERVED))
		return -EINVAL;
	h = get_handle(d, (int)a[0], a[1], flags, !(flags & AT_SYMLINK_NOFOLLOW), &owned);
	if (h < 0)
		return h;
	memset(&stx, 0, sizeof(stx));
	r = statx(h, "", AT_EMPTY_PATH | (flags & STATX_SYNC_MASK), mask, &stx) < 0 ? -errno : 0;
	put_handle(h, owned);
	if (r < 0)
		return r;
	stx.stx_uid = cred_uid_out(&d->cred, stx.stx_uid);
	stx.stx_gid = cred_gid_out(&d->cred, stx.stx_gid);
	return copy_to_user(d, a[4], &stx, sizeof(stx));
}

/* What readlink shows for a guest fd: its path inside the root, or the
 * kernel's description (pipe:[...], socket:[...]). */
static int fd_link_text(struct domain *d, int fd, char *out, size_t len)
{
	struct ofd *o = fd_peek(d, fd);
	char host[PATH_MAX];
	int r;

	if (!o)
		return -ENOENT;
	if (o->kind == OFD_PIDFD) {
		/* Its host fd is an epoll set (pidfd.c); Linux shows this. */
		snprintf(out, len, "%s", o->path);
		return 0;
	}
	r = host_fd_path(o->hostfd, host, sizeof(host));
	if (r < 0)
		return r;
	if (host_to_guest(proc_cur(d)->files, host, out, len) == 0)
		return 0;
	snprintf(out, len, "%s", host);
	return 0;
}

static long do_readlink(struct thread *t, int dirfd, uint64_t upath, uint64_t ubuf, int64_t size)
{
	struct domain *d = t->dom;
	char path[PATH_MAX], g[PATH_MAX * 2], text[PATH_MAX];
	struct stat st;
	ssize_t n;
	int h, r;

	if (size <= 0 || size > INT32_MAX)
		return -EINVAL;
	r = path_from_user(d, upath, path, true);
	if (r < 0)
		return r;
	if (path[0] == '\0') {
		/* readlinkat(fd, "") reads an O_PATH handle of a symlink. */
		struct ofd *o = fd_peek(d, dirfd);

		if (dirfd == AT_FDCWD || !o)
			return dirfd == AT_FDCWD ? -ENOENT : -EBADF;
		if (!S_ISLNK(o->type))
			return -ENOENT;
		n = readlinkat(o->hostfd, "", text, sizeof(text));
		if (n < 0)
			return -errno;
		goto copy;
	}
	if (!strcmp(path, "/proc/self/cwd") || !strcmp(path, "/proc/thread-self/cwd")) {
		/* The caller's working directory (the host's link is pdvm's):
		 * composed as the link resolves. */
		r = path_compose(d, AT_FDCWD, path, text, sizeof(text));
		if (r < 0)
			return r;
		n = (ssize_t)strlen(text);
		goto copy;
	}
	r = path_compose(d, dirfd, path, g, sizeof(g));
	if (r == -ENAMETOOLONG && path[0] != '/') {
		/* From a directory too deep to name: looked up from it. */
		h = path_lookup(d, dirfd, path, false, false);
		goto link;
	}
	if (r < 0)
		return r;
	r = procdir_readlink(d, t, g, text, sizeof(text));
	if (r != PROCDIR_NOT_OURS) {
		if (r < 0)
			return r;
		n = MIN(r, (int)sizeof(text) - 1);
		goto copy;
	}
	if (strncmp(g, "/dev/std", 8) && path_magic_fd(g) >= 0) {
		r = fd_link_text(d, path_magic_fd(g), text, sizeof(text));
		if (r < 0)
			return r;
		n = (ssize_t)strlen(text);
		goto copy;
	}
	h = path_lookup(d, AT_FDCWD, g, false, false);
link:
	if (h < 0)
		return h;
	if (fstat(h, &st) < 0 || !S_ISLNK(st.st_mode)) {
		close(h);
		return -EINVAL;
	}
	n = readlinkat(h, "", text, sizeof(text));
	r = errno;
	close(h);
	if (n < 0)
		return -r;
copy:
	if (n > size)
		n = size;
	if (copy_to_user(d, ubuf, text, (size_t)n) < 0)
		return -EFAULT;
	return n;
}

static long sys_readlink(struct thread *t, const uint64_t a[6])
{
	return do_readlink(t, AT_FDCWD, a[0], a[1], (int)a[2]);
}

static long sys_readlinkat(struct thread *t, const uint64_t a[6])
{
	return do_readlink(t, (int)a[0], a[1], a[2], (int)a[3]);
}

static long do_access(struct thread *t, int dirfd, uint64_t upath, int mode, int flags)
{
	struct domain *d = t->dom;
	struct stat st;
	bool owned;
	int h, r = 0;

	if (mode & ~(R_OK | W_OK | X_OK))
		return -EINVAL;
	if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	h = get_handle(d, dirfd, upath, flags, !(flags & AT_SYMLINK_NOFOLLOW), &owned);
	if (h < 0)
		return h;
	/* A read-only tree answers EROFS for W_OK, as a read-only mount does
	 * (devices, fifos and sockets excepted). */
	if ((mode & W_OK) && fstat(h, &st) == 0 &&
	    (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)) &&
	    !files_fd_writable(proc_cur(d)->files, h))
		r = -EROFS;
	if (r == 0 && syscall(SYS_faccessat2, h, "", mode, AT_EMPTY_PATH | (flags & AT_EACCESS)) < 0)
		r = -errno;
	put_handle(h, owned);
	return r;
}

static long sys_access(struct thread *t, const uint64_t a[6])
{
	return do_access(t, AT_FDCWD, a[0], (int)a[1], 0);
}

static long sys_faccessat(struct thread *t, const uint64_t a[6])
{
	return do_access(t, (int)a[0], a[1], (int)a[2], 0);
}

static long sys_faccessat2(struct thread *t, const uint64_t a[6])
{
	return do_access(t, (int)a[0], a[1], (int)a[2], (int)a[3]);
}

/* ---- the current directory and umask ---- */

static long sys_getcwd(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	char g[PATH_MAX * 2];
	size_t len;
	int r;

	r = path_compose(d, AT_FDCWD, "", g, sizeof(g));
	if (r < 0)
		return r;
	len = strlen(g) + 1;
	if (len > a[1])
		return -ERANGE;
	if (copy_to_user(d, a[0], g, len) < 0)
		return -EFAULT;
	return (long)len;
}

static long set_cwd(struct domain *d, int h)
{
	if (syscall(SYS_faccessat2, h, "", X_OK, AT_EMPTY_PATH) < 0) {
		int r = -errno;

		close(h);
		return r;
	}
	close(*fs_cwdfd(d));
	*fs_cwdfd(d) = h;
	return 0;
}

static long sys_chdir(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	char path[PATH_MAX];
	int h, r;

	r = path_from_user(d, a[0], path, false);
	if (r < 0)
		return r;
	h = path_lookup(d, AT_FDCWD, path, true, true);
	if (h < 0)
		return h;
	return set_cwd(d, h);
}

static long sys_fchdir(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	struct ofd *o = fd_peek(d, (int)a[0]);
	int h;

	if (!o)
		return -EBADF;
	if (!S_ISDIR(o->type))
		return -ENOTDIR;
	h = fcntl(o->hostfd, F_DUPFD_CLOEXEC, 0);
	if (h < 0)
		return -errno;
	return set_cwd(d, h);
}

static long sys_umask(struct thread *t, const uint64_t a[6])
{
	mode_t *um = fs_umask(t->dom), old = *um;

	*um = (mode_t)a[0] & 0777;
	return old;
}

/* ---- names: mkdir, rmdir, unlink, rename, link, symlink ---- */

static int get_parent(struct domain *d, int dirfd, uint64_t upath, struct parent *p)
{
	char path[PATH_MAX];
	int r;

	p->fd = -1;
	r = path_from_user(d, upath, path, false);
	if (r < 0)
		return r;
	return path_parent(d, dirfd, path, p);
}

static bool name_exists(struct parent *p)
{
	struct stat st;

	return fstatat(p->fd, p->name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Creating a name where none may be created: EEXIST wins over EROFS, as
 * on a read-only mount. */
static long create_denied(struct parent *p)
{
	return p->dot || p->is_wroot || name_exists(p) ? -EEXIST : -EROFS;
}

static long do_mkdir(struct thread *t, int dirfd, uint64_t upath, mode_t mode)
{
	struct domain *d = t->dom;
	struct parent p;
	mode_t old;
	long r;

	r = get_parent(d, dirfd, upath, &p);
	if (r < 0)
		return r;
	if (p.dot || p.is_wroot || !p.writable || p.wfile) {
		r = create_denied(&p);
	} else {
		old = host_umask_clear();
		r = mkdirat(p.fd, p.name, mode & GUEST_MODE_BITS & ~*fs_umask(d)) < 0 ? -errno : 0;
		host_umask_restore(old);
	}
	parent_done(&p);
	return r;
}

static long sys_mkdir(struct thread *t, const uint64_t a[6])
{
	return do_mkdir(t, AT_FDCWD, a[0], (mode_t)a[1]);
}

static long sys_mkdirat(struct thread *t, const uint64_t a[6])
{
	return do_mkdir(t, (int)a[0], a[1], (mode_t)a[2]);
}

/* Regular files, FIFOs and socket files, as any user may make them; device
 * nodes need CAP_MKNOD, which a domain never has (EPERM once the name is
 * known to be free, as Linux checks). */
static long do_mknod(struct thread *t, int dirfd, uint64_t upath, mode_t mode)
{
	struct domain *d = t->dom;
	mode_t type = mode & S_IFMT;
	struct parent p;
	long r;

	if (type == S_IFDIR)
		return -EPERM;
	if (type && type != S_IFREG && type != S_IFCHR && type != S_IFBLK && type != S_IFIFO && type != S_IFSOCK)
		return -EINVAL;
	r = get_parent(d, dirfd, upath, &p);
	if (r < 0)
		return r;
	if (p.dot || p.is_wroot || p.wfile || name_exists(&p) || !p.writable) {
		r = create_denied(&p);
	} else if (type == S_IFCHR || type == S_IFBLK) {
		r = -EPERM;
	} else {
		mode_t old = host_umask_clear();
		mode_t perm = mode & GUEST_MODE_BITS & ~*fs_umask(d);
		r = mknodat(p.fd, p.name, (type ? type : S_IFREG) | perm, 0) < 0 ? -errno : 0;
		host_umask_restore(old);
	}
	parent_done(&p);
	return r;
}

static long sys_mknod(struct thread *t, const uint64_t a[6])
{
	return do_mknod(t, AT_FDCWD, a[0], (mode_t)a[1]);
}

static long sys_mknodat(struct thread *t, const uint64_t a[6])
{
	return do_mknod(t, (int)a[0], a[1], (mode_t)a[2]);
}

/* An existing directory the caller may search, then EPERM: changing the
 * root needs CAP_SYS_CHROOT. */
static long sys_chroot(struct thread *t, const uint64_t a[6])
{
	char path[PATH_MAX];
	int r = path_from_user(t->dom, a[0], path, false);
	if (r < 0)
		return r;
	int h = path_lookup(t->dom, AT_FDCWD, path, true, true);
	if (h < 0)
		return h;
	close(h);
	return syscall_refuse(t, SYS_chroot, -EPERM, "no CAP_SYS_CHROOT");
}

static long do_unlink(struct thread *t, int dirfd, uint64_t upath, int flags)
{
	struct domain *d = t->dom;
	struct parent p;
	long r;

	if (flags & ~AT_REMOVEDIR)
		return -EINVAL;
	r = get_parent(d, dirfd, upath, &p);
	if (r < 0)
		return r;
	if (p.dot)
		r = !(flags & AT_REMOVEDIR) ? -EISDIR : !strcmp(p.name, "..") ? -ENOTEMPTY : -EINVAL;
	else if (p.is_wroot)
		r = -EBUSY;     /* a writable entry is like a mount point */
	else if (!p.writable)
		r = -EROFS;
	else
		r = unlinkat(p.fd, p.name, flags) < 0 ? -errno : 0;
	parent_done(&p);
	return r;
}

static long sys_rmdir(struct thread *t, const uint64_t a[6])
{
	return do_unlink(t, AT_FDCWD, a[0], AT_REMOVEDIR);
}

static long sys_unlink(struct thread *t, const uint64_t a[6])
{
	return do_unlink(t, AT_FDCWD, a[0], 0);
}

static long sys_unlinkat(struct thread *t, const uint64_t a[6])
{
	return do_unlink(t, (int)a[0], a[1], (int)a[2]);
}

static long do_rename(struct thread *t, int olddir, uint64_t oldp, int newdir, uint64_t newp,
		      unsigned int flags)
{
	struct domain *d = t->dom;
	struct parent po, pn;
	long r;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	r = get_parent(d, olddir, oldp, &po);
	if (r < 0)
		return r;
	r = get_parent(d, newdir, newp, &pn);
	if (r < 0) {
		parent_done(&po);
		return r;
	}
	if (po.dot || pn.dot || po.is_wroot || pn.is_wroot)
		r = -EBUSY;
	else if (!po.writable || !pn.writable)
		r = -EROFS;
	else if (po.went != pn.went)
		r = -EXDEV;     /* two writable trees are two mounts */
	else
		r = renameat2(po.fd, po.name, pn.fd, pn.name, flags) < 0 ? -errno : 0;
	parent_done(&po);
	parent_done(&pn);
	return r;
}

static long sys_rename(struct thread *t, const uint64_t a[6])
{
	return do_rename(t, AT_FDCWD, a[0], AT_FDCWD, a[1], 0);
}

static long sys_renameat(struct thread *t, const uint64_t a[6])
{
	return do_rename(t, (int)a[0], a[1], (int)a[2], a[3], 0);
}

static long sys_renameat2(struct thread *t, const uint64_t a[6])
{
	return do_rename(t, (int)a[0], a[1], (int)a[2], a[3], (unsigned int)a[4]);
}

static long do_link(struct thread *t, int olddir, uint64_t oldp, int newdir, uint64_t newp,
		    int flags)
{
	struct domain *d = t->dom;
	char link[32];
	struct parent pn;
	struct stat st;
	bool owned;
	int h;
	long r;

	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	h = get_handle(d, olddir, oldp, flags, flags & AT_SYMLINK_FOLLOW, &owned);
	if (h < 0)
		return h;
	r = get_parent(d, newdir, newp, &pn);
	if (r < 0)
		goto out;
	if (pn.dot || pn.is_wroot || !pn.writable || pn.wfile) {
		r = create_denied(&pn);
	} else if (fstat(h, &st) < 0) {
		r = -errno;
	} else if (S_ISDIR(st.st_mode)) {
		r = -EPERM;
	} else if (files_fd_tree(proc_cur(d)->files, h) != pn.went) {
		/* The source lies in another (read-only) tree: a hard link would
		 * make it writable. Linux says EXDEV across mounts. */
		r = -EXDEV;
	} else {
		r = linkat(h, "", pn.fd, pn.name, AT_EMPTY_PATH);
		if (r < 0 && (errno == ENOENT || errno == EPERM) && !S_ISLNK(st.st_mode)) {
			/* No CAP_DAC_READ_SEARCH: go through the proc link. */
			proc_fd_path(h, link, sizeof(link));
			r = linkat(AT_FDCWD, link, pn.fd, pn.name, AT_SYMLINK_FOLLOW);
		}
		r = r < 0 ? -errno : 0;
	}
	parent_done(&pn);
out:
	put_handle(h, owned);
	return r;
}

static long sys_link(struct thread *t, const uint64_t a[6])
{
	return do_link(t, AT_FDCWD, a[0], AT_FDCWD, a[1], 0);
}

static long sys_linkat(struct thread *t, const uint64_t a[6])
{
	return do_link(t, (int)a[0], a[1], (int)a[2], a[3], (int)a[4]);
}

static long do_symlink(struct thread *t, uint64_t utarget, int newdir, uint64_t newp)
{
	struct domain *d = t->dom;
	char target[PATH_MAX];
	struct parent p;
	long r;

	r = path_from_user(d, utarget, target, false);
	if (r < 0)
		return r;
	r = get_parent(d, newdir, newp, &p);
	if (r < 0)
		return r;
	if (p.dot || p.is_wroot || !p.writable || p.wfile)
		r = create_denied(&p);
	else
		r = symlinkat(target, p.fd, p.name) < 0 ? -errno : 0;
	parent_done(&p);
	return r;
}

static long sys_symlink(struct thread *t, const uint64_t a[6])
{
	return do_symlink(t, a[0], AT_FDCWD, a[1]);
}

static long sys_symlinkat(struct thread *t, const uint64_t a[6])
{
	return do_symlink(t, a[0], (int)a[1], a[2]);
}

/* ---- attributes ---- */

/* Handle of a file whose attributes change: must lie in a writable tree. */
static int attr_handle(struct domain *d, int dirfd, uint64_t upath, int flags, bool follow,
		       bool *owned)
{
	int h = get_handle(d, dirfd, upath, flags, follow, owned);

	if (h >= 0 && !files_fd_writable(proc_cur(d)->files, h)) {
		put_handle(h, *owned);
		return -EROFS;
	}
	return h;
}

static long do_chmod(struct thread *t, int dirfd, uint64_t upath, mode_t mode)
{
	char link[32];
	bool owned;
	int h = attr_handle(t->dom, dirfd, upath, 0, true, &owned);
	long r;

	if (h < 0)
		return h;
	proc_fd_path(h, link, sizeof(link));
	r = chmod(link, mode & GUEST_MODE_BITS) < 0 ? -errno : 0;
	put_handle(h, owned);
	return r;
}

static long sys_chmod(struct thread *t, const uint64_t a[6])
{
	return do_chmod(t, AT_FDCWD, a[0], (mode_t)a[1]);
}

static long sys_fchmodat(struct thread *t, const uint64_t a[6])
{
	return do_chmod(t, (int)a[0], a[1], (mode_t)a[2]);
}

/* An fd-based attribute change: the file must lie in a writable tree. */
static struct ofd *attr_fd(struct domain *d, int fd, long *err)
{
	struct ofd *o = fd_peek(d, fd);

	*err = 0;
	if (!o || (o->flags & O_PATH))
		*err = -EBADF;
	else if (!files_fd_writable(proc_cur(d)->files, o->hostfd))
		*err = -EROFS;
	return *err ? NULL : o;
}

static long sys_fchmod(struct thread *t, const uint64_t a[6])
{
	long r;
	struct ofd *o = attr_fd(t->dom, (int)a[0], &r);

	if (!o)
		return r;
	return fchmod(o->hostfd, (mode_t)a[1] & GUEST_MODE_BITS) < 0 ? -errno : 0;
}

/* chown for the guest as for an unprivileged process: owner and group may
 * only stay what they are (-1, or the current id). Giving a file to another
 * user is EPERM; pdvm's own identity (root) must not do it for the guest.
 * The guest names ids as its view shows them (cred.h): *uid and *gid become
 * the host's, and an id with no host one is EINVAL, as Linux answers an id
 * its user namespace does not map. */
static long chown_allowed(struct domain *d, int h, uint64_t *uid, uint64_t *gid)
{
	uint32_t hu, hg;
	struct stat st;
	if (!cred_uid_in(&d->cred, (uint32_t)*uid, &hu) || !cred_gid_in(&d->cred, (uint32_t)*gid, &hg))
		return -EINVAL;
	*uid = hu;
	*gid = hg;
	if (fstatat(h, "", &st, AT_EMPTY_PATH) < 0)
		return -errno;
	if (hu != (uint32_t)-1 && (uid_t)hu != st.st_uid)
		return -EPERM;
	if (hg != (uint32_t)-1 && (gid_t)hg != st.st_gid)
		return -EPERM;
	return 0;
}

static long do_chown(struct thread *t, int dirfd, uint64_t upath, uint64_t uid, uint64_t gid,
		     int flags)
{
	bool owned;
	int h;
	long r;

	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	h = attr_handle(t->dom, dirfd, upath, flags, !(flags & AT_SYMLINK_NOFOLLOW), &owned);
	if (h < 0)
		return h;
	r = chown_allowed(t->dom, h, &uid, &gid);
	if (!r)
		r = fchownat(h, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH) < 0 ? -errno : 0;
	put_handle(h, owned);
	return r;
}

static long sys_chown(struct thread *t, const uint64_t a[6])
{
	return do_chown(t, AT_FDCWD, a[0], a[1], a[2], 0);
}

static long sys_lchown(struct thread *t, const uint64_t a[6])
{
	return do_chown(t, AT_FDCWD, a[0], a[1], a[2], AT_SYMLINK_NOFOLLOW);
}

static long sys_fchownat(struct thread *t, const uint64_t a[6])
{
	return do_chown(t, (int)a[0], a[1], a[2], a[3], (int)a[4]);
}

static long sys_fchown(struct thread *t, const uint64_t a[6])
{
	long r;
	struct ofd *o = attr_fd(t->dom, (int)a[0], &r);

	if (!o)
		return r;
	uint64_t uid = a[1], gid = a[2];
	r = chown_allowed(t->dom, o->hostfd, &uid, &gid);
	if (r)
		return r;
	return fchown(o->hostfd, (uid_t)uid, (gid_t)gid) < 0 ? -errno : 0;
}

static long sys_utimensat(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int dirfd = (int)a[0], flags = (int)a[3];
	struct timespec ts[2], *tp = NULL;
	char link[32];
	struct parent p;
	bool owned;
	long r;
	int h;

	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if (a[2]) {
		if (copy_from_user(d, ts, a[2], sizeof(ts)) < 0)
			return -EFAULT;
		tp = ts;
	}
	if (a[1] == 0 && dirfd != AT_FDCWD) {
		/* futimens(): the fd itself. */
		struct ofd *o;

		if (flags)
			return -EINVAL;
		o = attr_fd(d, dirfd, &r);
		if (!o)
			return r;
		return futimens(o->hostfd, tp) < 0 ? -errno : 0;
	}
	if (a[1] == 0)
		return -EFAULT;
	if (flags & AT_SYMLINK_NOFOLLOW) {
		/* Never follow the final symlink: act on the name in its parent. */
		r = get_parent(d, dirfd, a[1], &p);
		if (r == -ENOENT && (flags & AT_EMPTY_PATH))
			goto by_handle;
		if (r < 0)
			return r;
		if (p.dot) {
			parent_done(&p);
			goto by_handle;
		}
		if (!p.writable && !p.is_wroot)
			r = -EROFS;
		else
			r = utimensat(p.fd, p.name, tp, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
		parent_done(&p);
		return r;
	}
by_handle:
	h = attr_handle(d, dirfd, a[1], flags, true, &owned);
	if (h < 0)
		return h;
	proc_fd_path(h, link, sizeof(link));
	r = utimensat(AT_FDCWD, link, tp, 0) < 0 ? -errno : 0;
	put_handle(h, owned);
	return r;
}

static long sys_truncate(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	char path[PATH_MAX], link[32];
	struct stat st;
	int h;
	long r;

	r = path_from_user(d, a[0], path, false);
	if (r < 0)
		return r;
	if ((int64_t)a[1] < 0)
		return -EINVAL;
	h = path_lookup(d, AT_FDCWD, path, true, false);
	if (h < 0)
		return h;
	if (fstat(h, &st) < 0)
		r = -errno;
	else if (S_ISDIR(st.st_mode))
		r = -EISDIR;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if (!files_fd_writable(proc_cur(d)->files, h))
		r = -EROFS;
	else {
		struct pcio io;
		proc_fd_path(h, link, sizeof(link));
		pcio_truncate_begin(d, h, (int64_t)a[1], &io);
		r = truncate(link, (off_t)a[1]) < 0 ? -errno : 0;
		pcio_end(d, &io);
	}
	close(h);
	return r;
}

static long statfs_out(struct domain *d, int h, uint64_t ubuf)
{
	struct statfs sfs;

	if (fstatfs(h, &sfs) < 0)
		return -errno;
	/* A read-only tree reports itself mounted read-only. */
	if (!files_fd_writable(proc_cur(d)->files, h))
		sfs.f_flags |= ST_RDONLY;
	return copy_to_user(d, ubuf, &sfs, sizeof(sfs));
}

static long sys_statfs(struct thread *t, const uint64_t a[6])
{
	bool owned;
	int h = get_handle(t->dom, AT_FDCWD, a[0], 0, true, &owned);
	long r;

	if (h < 0)
		return h;
	r = statfs_out(t->dom, h, a[1]);
	put_handle(h, owned);
	return r;
}

static long sys_fstatfs(struct thread *t, const uint64_t a[6])
{
	struct ofd *o = fd_peek(t->dom, (int)a[0]);

	if (!o)
		return -EBADF;
	return statfs_out(t->dom, o->hostfd, a[1]);
}

const struct syscall_desc sys_fs_table[] = {
	{ SYS_open, "open", sys_open },
	{ SYS_openat, "openat", sys_openat },
	{ SYS_creat, "creat", sys_creat },
	{ SYS_stat, "stat", sys_stat },
	{ SYS_lstat, "lstat", sys_lstat },
	{ SYS_newfstatat, "newfstatat", sys_newfstatat },
	{ SYS_statx, "statx", sys_statx },
	{ SYS_readlink, "readlink", sys_readlink },
	{ SYS_readlinkat, "readlinkat", sys_readlinkat },
	{ SYS_access, "access", sys_access },
	{ SYS_faccessat, "faccessat", sys_faccessat },
	{ SYS_faccessat2, "faccessat2", sys_faccessat2 },
	{ SYS_getcwd, "getcwd", sys_getcwd },
	{ SYS_chdir, "chdir", sys_chdir },
	{ SYS_fchdir, "fchdir", sys_fchdir },
	{ SYS_umask, "umask", sys_umask },
	{ SYS_mkdir, "mkdir", sys_mkdir },
	{ SYS_mkdirat, "mkdirat", sys_mkdirat },
	{ SYS_mknod, "mknod", sys_mknod },
	{ SYS_mknodat, "mknodat", sys_mknodat },
	{ SYS_chroot, "chroot", sys_chroot },
	{ SYS_rmdir, "rmdir", sys_rmdir },
	{ SYS_unlink, "unlink", sys_unlink },
	{ SYS_unlinkat, "unlinkat", sys_unlinkat },
	{ SYS_rename, "rename", sys_rename },
	{ SYS_renameat, "renameat", sys_renameat },
	{ SYS_renameat2, "renameat2", sys_renameat2 },
	{ SYS_link, "link", sys_link },
	{ SYS_linkat, "linkat", sys_linkat },
	{ SYS_symlink, "symlink", sys_symlink },
	{ SYS_symlinkat, "symlinkat", sys_symlinkat },
	{ SYS_chmod, "chmod", sys_chmod },
	{ SYS_fchmod, "fchmod", sys_fchmod },
	{ SYS_fchmodat, "fchmodat", sys_fchmodat },
	{ SYS_chown, "chown", sys_chown },
	{ SYS_lchown, "lchown", sys_lchown },
	{ SYS_fchown, "fchown", sys_fchown },
	{ SYS_fchownat, "fchownat", sys_fchownat },
	{ SYS_utimensat, "utimensat", sys_utimensat },
	{ SYS_truncate, "truncate", sys_truncate },
	{ SYS_statfs, "statfs", sys_statfs },
	{ SYS_fstatfs, "fstatfs", sys_fstatfs },
	{ -1, NULL, NULL },
};
