/* sys_xattr.c: extended attributes — get, list, set and remove by path, by path without following, and by fd — read anywhere in the root, written only in writable trees. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "domain.h"
#include "files.h"
#include "syscall.h"
#include "uaccess.h"

/* Linux's limits (include/uapi/linux/limits.h). */
#define XATTR_NAME_MAX_K 255
#define XATTR_SIZE_MAX_K 65536
#define XATTR_LIST_MAX_K 65536

/*
 * The argument checks come in the order Linux 6.13 and later make them (the
 * *xattrat rework): the name (and a set's flags, size and value) before the
 * path or the fd is looked up. The file
 * system's own answers (ENODATA, ERANGE, E2BIG, EOPNOTSUPP, EPERM for user.*
 * on a symlink, EACCES) are the host's, passed on: the vCPU thread has the
 * domain's identity, so they are what an unprivileged process gets.
 */

/* What a call acts on: a host fd of the guest's (the f* calls) or an O_PATH
 * handle of a path resolved inside the root. A handle is reached through
 * its /proc/self/fd link, which lands on the handle's own inode without
 * following it further (a symlink handle is the symlink, as l* wants). */
struct xtarget {
	int fd;
	bool handle;            /* fd is ours (a path lookup): close it */
	char link[32];
};

static int xname(struct domain *d, uint64_t uname, char name[XATTR_NAME_MAX_K + 1])
{
	long r = strncpy_from_user(d, name, uname, XATTR_NAME_MAX_K + 1);

	if (r == -EFAULT)
		return -EFAULT;
	return r <= 0 ? -ERANGE : 0;    /* empty, or no NUL within 256 bytes */
}

static int target_path(struct domain *d, uint64_t upath, bool follow, struct xtarget *x)
{
	char path[PATH_MAX];
	int r = path_from_user(d, upath, path, false);

	if (r < 0)
		return r;
	r = path_lookup(d, AT_FDCWD, path, follow, false);
	if (r < 0)
		return r;
	x->fd = r;
	x->handle = true;
	snprintf(x->link, sizeof(x->link), "/proc/self/fd/%d", r);
	return 0;
}

/* An fd call's description: O_PATH is EBADF, as fdget() excludes it. */
static int target_fd(struct domain *d, uint64_t fd, struct xtarget *x, struct ofd **o)
{
	*o = fd_peek(d, (int)fd);
	if (!*o || fd > INT32_MAX || ((*o)->flags & O_PATH))
		return -EBADF;
	x->fd = (*o)->hostfd;
	x->handle = false;
	return 0;
}

static void target_done(struct xtarget *x)
{
	if (x->handle)
		close(x->fd);
}

/* Whether a change may be made: files of the root only inside writable
 * trees (EROFS, as a read-only mount answers); what the domain made for
 * itself (pipes, sockets, memfds, anonymous fds) is in no tree. */
static bool may_change(struct domain *d, const struct xtarget *x, const struct ofd *o)
{
	if (o && o->kind != OFD_FILE && o->kind != OFD_STDIO && o->kind != OFD_OTHER)
		return true;
	return files_fd_writable(proc_cur(d)->files, x->fd);
}

/* ---- get ---- */

static long do_get(struct domain *d, struct xtarget *x, const char *name, uint64_t uvalue, size_t size)
{
	char *buf = NULL;
	ssize_t r;

	if (size > XATTR_SIZE_MAX_K)
		size = XATTR_SIZE_MAX_K;
	if (size && !(buf = malloc(size)))
		return -ENOMEM;
	r = x->handle ? getxattr(x->link, name, buf, size) : fgetxattr(x->fd, name, buf, size);
	if (r < 0)
		r = -errno;
	else if (size && r > 0 && copy_to_user(d, uvalue, buf, (size_t)r))
		r = -EFAULT;
	free(buf);
	return r;
}

static long path_get(struct thread *t, const uint64_t a[6], bool follow)
{
	char name[XATTR_NAME_MAX_K + 1];
	struct xtarget x;
	long r = xname(t->dom, a[1], name);

	if (!r)
		r = target_path(t->dom, a[0], follow, &x);
	if (r)
		return r;
	r = do_get(t->dom, &x, name, a[2], a[3]);
	target_done(&x);
	return r;
}

static long sys_getxattr(struct thread *t, const uint64_t a[6])
{
	return path_get(t, a, true);
}

static long sys_lgetxattr(struct thread *t, const uint64_t a[6])
{
	return path_get(t, a, false);
}

static long sys_fgetxattr(struct thread *t, const uint64_t a[6])
{
	char name[XATTR_NAME_MAX_K + 1];
	struct xtarget x;
	struct ofd *o;
	long r = xname(t->dom, a[1], name);

	if (!r)
		r = target_fd(t->dom, a[0], &x, &o);
	return r ? r : do_get(t->dom, &x, name, a[2], a[3]);
}

/* ---- list ---- */

static long do_list(struct domain *d, struct xtarget *x, uint64_t ulist, size_t size)
{
	char *buf = NULL;
	ssize_t r;

	if (size > XATTR_LIST_MAX_K)
		size = XATTR_LIST_MAX_K;
	if (size && !(buf = malloc(size)))
		return -ENOMEM;
	r = x->handle ? listxattr(x->link, buf, size) : flistxattr(x->fd, buf, size);
	if (r < 0)
		r = -errno;
	else if (size && r > 0 && copy_to_user(d, ulist, buf, (size_t)r))
		r = -EFAULT;
	free(buf);
	return r;
}

static long path_list(struct thread *t, const uint64_t a[6], bool follow)
{
	struct xtarget x;
	long r = target_path(t->dom, a[0], follow, &x);

	if (r)
		return r;
	r = do_list(t->dom, &x, a[1], a[2]);
	target_done(&x);
	return r;
}

static long sys_listxattr(struct thread *t, const uint64_t a[6])
{
	return path_list(t, a, true);
}

static long sys_llistxattr(struct thread *t, const uint64_t a[6])
{
	return path_list(t, a, false);
}

static long sys_flistxattr(struct thread *t, const uint64_t a[6])
{
	struct xtarget x;
	struct ofd *o;
	long r = target_fd(t->dom, a[0], &x, &o);

	return r ? r : do_list(t->dom, &x, a[1], a[2]);
}

/* ---- set ---- */

/* setxattr_copy: flags, name, size, then the value into *val (malloc'd). */
static long set_copy(struct domain *d, const uint64_t a[6], char *name, void **val)
{
	size_t size = a[3];
	long r;

	*val = NULL;
	if ((int)a[4] & ~(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	if ((r = xname(d, a[1], name)))
		return r;
	if (!size)
		return 0;
	if (size > XATTR_SIZE_MAX_K)
		return -E2BIG;
	if (!(*val = malloc(size)))
		return -ENOMEM;
	if (copy_from_user(d, *val, a[2], size)) {
		free(*val);
		*val = NULL;
		return -EFAULT;
	}
	return 0;
}

static long do_set(struct domain *d, struct xtarget *x, const struct ofd *o, const char *name, const void *val,
		   size_t size, int flags)
{
	int r;

	if (!may_change(d, x, o))
		return -EROFS;
	r = x->handle ? setxattr(x->link, name, val, size, flags) : fsetxattr(x->fd, name, val, size, flags);
	return r < 0 ? -errno : 0;
}

static long path_set(struct thread *t, const uint64_t a[6], bool follow)
{
	char name[XATTR_NAME_MAX_K + 1];
	struct xtarget x;
	void *val;
	long r = set_copy(t->dom, a, name, &val);

	if (!r && !(r = target_path(t->dom, a[0], follow, &x))) {
		r = do_set(t->dom, &x, NULL, name, val, a[3], (int)a[4]);
		target_done(&x);
	}
	free(val);
	return r;
}

static long sys_setxattr(struct thread *t, const uint64_t a[6])
{
	return path_set(t, a, true);
}

static long sys_lsetxattr(struct thread *t, const uint64_t a[6])
{
	return path_set(t, a, false);
}

static long sys_fsetxattr(struct thread *t, const uint64_t a[6])
{
	char name[XATTR_NAME_MAX_K + 1];
	struct xtarget x;
	struct ofd *o;
	void *val;
	long r = set_copy(t->dom, a, name, &val);

	if (!r)
		r = target_fd(t->dom, a[0], &x, &o);
	if (!r)
		r = do_set(t->dom, &x, o, name, val, a[3], (int)a[4]);
	free(val);
	return r;
}

/* ---- remove ---- */

static long do_remove(struct domain *d, struct xtarget *x, const struct ofd *o, const char *name)
{
	int r;

	if (!may_change(d, x, o))
		return -EROFS;
	r = x->handle ? removexattr(x->link, name) : fremovexattr(x->fd, name);
	return r < 0 ? -errno : 0;
}

static long path_remove(struct thread *t, const uint64_t a[6], bool follow)
{
	char name[XATTR_NAME_MAX_K + 1];
	struct xtarget x;
	long r = xname(t->dom, a[1], name);

	if (!r && !(r = target_path(t->dom, a[0], follow, &x))) {
		r = do_remove(t->dom, &x, NULL, name);
		target_done(&x);
	}
	return r;
}

static long sys_removexattr(struct thread *t, const uint64_t a[6])
{
	return path_remove(t, a, true);
}

static long sys_lremovexattr(struct thread *t, const uint64_t a[6])
{
	return path_remove(t, a, false);
}

static long sys_fremovexattr(struct thread *t, const uint64_t a[6])
{
	char name[XATTR_NAME_MAX_K + 1];
	struct xtarget x;
	struct ofd *o;
	long r = xname(t->dom, a[1], name);

	if (!r)
		r = target_fd(t->dom, a[0], &x, &o);
	return r ? r : do_remove(t->dom, &x, o, name);
}

const struct syscall_desc sys_xattr_table[] = {
	{ SYS_getxattr, "getxattr", sys_getxattr },
	{ SYS_lgetxattr, "lgetxattr", sys_lgetxattr },
	{ SYS_fgetxattr, "fgetxattr", sys_fgetxattr },
	{ SYS_listxattr, "listxattr", sys_listxattr },
	{ SYS_llistxattr, "llistxattr", sys_llistxattr },
	{ SYS_flistxattr, "flistxattr", sys_flistxattr },
	{ SYS_setxattr, "setxattr", sys_setxattr },
	{ SYS_lsetxattr, "lsetxattr", sys_lsetxattr },
	{ SYS_fsetxattr, "fsetxattr", sys_fsetxattr },
	{ SYS_removexattr, "removexattr", sys_removexattr },
	{ SYS_lremovexattr, "lremovexattr", sys_lremovexattr },
	{ SYS_fremovexattr, "fremovexattr", sys_fremovexattr },
	{ -1, NULL, NULL },
};
