/* sys_fd.c: fd-table syscalls — close, dup*, fcntl (record locks through
 * posixlock.c), terminal ioctls, pipes, flock — and sys_fd_table. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "domain.h"
#include "files.h"
#include "memfd.h"
#include "posixlock.h"
#include "syscall.h"
#include "uaccess.h"

#define RESTART (-ERESTART_SYSCALL)

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Sizes of the kernel's termios structures (not glibc's). */
#define KTERMIOS_SIZE  36
#define KTERMIOS2_SIZE 44
#define K_TCGETS2      0x802c542aU
#define K_TCSETS2      0x402c542bU
#define K_TCSETSW2     0x402c542cU
#define K_TCSETSF2     0x402c542dU

/* Status flags F_SETFL may change. FASYNC is left out on purpose: it would
 * deliver SIGIO to the VMM. */
#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME)

static long sys_close(struct thread *t, const uint64_t a[6])
{
	return fd_close(t->dom, (int)a[0]);
}

static long sys_close_range(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	unsigned int first = (unsigned int)a[0], last = (unsigned int)a[1];
	unsigned int flags = (unsigned int)a[2];
	unsigned int end;

	if (flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC))
		return -EINVAL;
	if (first > last)
		return -EINVAL;
	end = proc_cur(d)->files->nfds ? (unsigned int)proc_cur(d)->files->nfds - 1 : 0;
	if (last > end)
		last = end;
	for (unsigned int fd = first; fd <= last && fd < (unsigned int)proc_cur(d)->files->nfds; fd++) {
		if (!fd_peek(d, (int)fd))
			continue;
		if (flags & CLOSE_RANGE_CLOEXEC)
			fd_set_cloexec(d, (int)fd, true);
		else
			fd_close(d, (int)fd);
	}
	return 0;
}

static long sys_dup(struct thread *t, const uint64_t a[6])
{
	struct ofd *o = fd_get(t->dom, (int)a[0]);

	return o ? fd_install(t->dom, o, 0, false) : -EBADF;
}

static long do_dup3(struct domain *d, uint64_t oldfd, uint64_t newfd, bool cloexec)
{
	struct ofd *o = fd_peek(d, (int)oldfd);

	if (!o || oldfd > INT32_MAX)
		return -EBADF;
	if (newfd >= (uint64_t)fd_limit(d))
		return -EBADF;
	return fd_install_at(d, ofd_get(o), (int)newfd, cloexec);
}

static long sys_dup2(struct thread *t, const uint64_t a[6])
{
	unsigned int oldfd = (unsigned int)a[0], newfd = (unsigned int)a[1];

	if (oldfd == newfd)
		return fd_peek(t->dom, (int)oldfd) && oldfd <= INT32_MAX ? (long)newfd : -EBADF;
	return do_dup3(t->dom, oldfd, newfd, false);
}

static long sys_dup3(struct thread *t, const uint64_t a[6])
{
	unsigned int oldfd = (unsigned int)a[0], newfd = (unsigned int)a[1];
	int flags = (int)a[2];

	if (flags & ~O_CLOEXEC)
		return -EINVAL;
	if (oldfd == newfd)
		return -EINVAL;
	return do_dup3(t->dom, oldfd, newfd, flags & O_CLOEXEC);
}

/* OFD locks (F_OFD_*) are the host's: owned by the open file description,
 * which the host's fd is. POSIX locks (F_GETLK, F_SETLK, F_SETLKW) are the
 * domain's processes' own: posixlock.c. */
static long fcntl_ofd_lock(struct thread *t, struct ofd *o, int cmd, uint64_t arg)
{
	struct domain *d = t->dom;
	struct flock fl, req;
	bool wait = cmd == F_OFD_SETLKW;
	int r, err;

	if (copy_from_user(d, &fl, arg, sizeof(fl)) < 0)
		return -EFAULT;
	req = fl;
	if (wait)
		dom_block_begin(t);
	r = fcntl(o->hostfd, cmd, &fl);
	err = errno;
	if (wait)
		dom_block_end(t);
	if (r < 0)
		return err == EINTR ? RESTART : -err;
	if (cmd == F_OFD_GETLK) {
		plock_ofd_answer(d, o, &req, &fl);
		return copy_to_user(d, arg, &fl, sizeof(fl));
	}
	/* POSIX waiters behind an OFD lock look again at once. */
	plock_kick(d, o);
	return 0;
}

static long sys_fcntl(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int fd = (int)a[0], cmd = (int)a[1], r;
	struct ofd *o = fd_peek(d, fd);
	long ret;

	if (!o || a[0] > INT32_MAX)
		return -EBADF;
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		if (a[2] >= (uint64_t)fd_limit(d))
			return -EINVAL;
		return fd_install(d, ofd_get(o), (int)a[2], cmd == F_DUPFD_CLOEXEC);
	case F_GETFD:
		return fd_get_cloexec(d, fd) ? FD_CLOEXEC : 0;
	case F_SETFD:
		return fd_set_cloexec(d, fd, a[2] & FD_CLOEXEC);
	case F_GETFL:
		r = fcntl(o->hostfd, F_GETFL);
		if (r >= 0 && o->host_nb)
			r = (r & ~O_NONBLOCK) | (o->flags & O_NONBLOCK);
		return r < 0 ? -errno : r;
	case F_SETFL:
		if (o->flags & O_PATH)
			return -EBADF;
		r = fcntl(o->hostfd, F_GETFL);
		if (r < 0)
			return -errno;
		r = (r & ~SETFL_MASK) | ((int)a[2] & SETFL_MASK) | (o->host_nb ? O_NONBLOCK : 0);
		if (fcntl(o->hostfd, F_SETFL, r) < 0)
			return -errno;
		o->flags = (o->flags & ~SETFL_MASK) | ((int)a[2] & SETFL_MASK);
		return 0;
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		if (o->flags & O_PATH)
			return -EBADF;
		{
			struct ofd *ref = ofd_get(o);

			if (cmd == F_GETLK || cmd == F_SETLK || cmd == F_SETLKW)
				ret = plock_fcntl(t, fd, ref, cmd, a[2]);
			else
				ret = fcntl_ofd_lock(t, ref, cmd, a[2]);
			ofd_put(ref);
		}
		return ret;
	case F_ADD_SEALS:
		/* Not where a shared mapping would lose its write-back (memfd.c). */
		if ((r = memfd_add_seals_check(d, o, (unsigned int)a[2])))
			return r;
		/* fall through */
	case F_GETPIPE_SZ:
	case F_SETPIPE_SZ:
	case F_GET_SEALS:
		/* Integer arguments only: safe to pass through. */
		r = fcntl(o->hostfd, cmd, (int)a[2]);
		return r < 0 ? -errno : r;
	default:
		return -EINVAL;
	}
}

/* Terminal ioctls carry fixed-size structures; everything crosses through
 * a VMM buffer. */
static long ioctl_tty(struct thread *t, struct ofd *o, unsigned int cmd, uint64_t arg)
{
	struct domain *d = t->dom;
	unsigned char buf[64];
	size_t in = 0, out = 0;
	bool blocks = false;
	int r, err;

	switch (cmd) {
	case TCGETS:
		out = KTERMIOS_SIZE;
		break;
	case TCSETSW:
	case TCSETSF:
		blocks = true;  /* waits for output to drain */
		/* fall through */
	case TCSETS:
		in = KTERMIOS_SIZE;
		break;
	case K_TCGETS2:
		out = KTERMIOS2_SIZE;
		break;
	case K_TCSETSW2:
	case K_TCSETSF2:
		blocks = true;
		/* fall through */
	case K_TCSETS2:
		in = KTERMIOS2_SIZE;
		break;
	case TIOCGWINSZ:
		out = sizeof(struct winsize);
		break;
	case TIOCSWINSZ:
		in = sizeof(struct winsize);
		break;
	case TIOCGPGRP:
	case TIOCGPTN:          /* a pty master: ptsname, grantpt */
	case TIOCGPTLCK:
	case TIOCGPKT:
	case TIOCOUTQ:
	case TIOCGEXCL:
		out = sizeof(int);
		break;
	case TIOCSPTLCK:        /* unlockpt */
	case TIOCPKT:
		in = sizeof(int);
		break;
	case TIOCEXCL:
	case TIOCNXCL:
		r = ioctl(o->hostfd, cmd);
		return r < 0 ? -errno : r;
	case TIOCGPTPEER: {
		/* The slave of a master, opened without a path: a new fd. The
		 * ptys are the host's devpts's (README: what is private). */
		int flags = (int)arg;

		if (flags & ~(O_ACCMODE | O_NOCTTY | O_NONBLOCK | O_CLOEXEC))
			return -EINVAL;
		r = ioctl(o->hostfd, cmd, (flags & ~O_CLOEXEC) | O_CLOEXEC | O_NOCTTY);
		if (r < 0)
			return -errno;
		char name[64];

		if (host_fd_path(r, name, sizeof(name)) < 0)
			snprintf(name, sizeof(name), "/dev/pts/?");
		return files_install(d, r, flags & (O_ACCMODE | O_NONBLOCK), OFD_FILE, name, flags & O_CLOEXEC);
	}
	case TCFLSH:
	case TCXONC:
		r = ioctl(o->hostfd, cmd, (int)arg);
		return r < 0 ? -errno : r;
	case TCSBRK:
		/* tcdrain: waits for output to drain. */
		dom_block_begin(t);
		r = ioctl(o->hostfd, cmd, (int)arg);
		err = errno;
		dom_block_end(t);
		return r < 0 ? (err == EINTR ? RESTART : -err) : r;
	default:
		return -ENOTTY;
	}
	memset(buf, 0, sizeof(buf));
	if (in && copy_from_user(d, buf, arg, in) < 0)
		return -EFAULT;
	if (blocks)
		dom_block_begin(t);
	r = ioctl(o->hostfd, cmd, buf);
	err = errno;
	if (blocks)
		dom_block_end(t);
	if (r < 0)
		return err == EINTR ? RESTART : -err;
	if (cmd == TIOCGPGRP) {
		/* The guest knows its own process group as its pid. */
		int pg;

		memcpy(&pg, buf, sizeof(pg));
		if (pg == getpgrp()) {
			pg = d->fg_pgid;
			memcpy(buf, &pg, sizeof(pg));
		}
	}
	if (out && copy_to_user(d, arg, buf, out) < 0)
		return -EFAULT;
	return r;
}

static long sys_ioctl(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int fd = (int)a[0];
	unsigned int cmd = (unsigned int)a[1];
	struct ofd *o = fd_peek(d, fd);
	long ret;
	int v;

	if (!o || a[0] > INT32_MAX || (o->flags & O_PATH))
		return -EBADF;
	switch (cmd) {
	case FIOCLEX:
		return fd_set_cloexec(d, fd, true);
	case FIONCLEX:
		return fd_set_cloexec(d, fd, false);
	case FIONBIO:
		if (copy_from_user(d, &v, a[2], sizeof(v)) < 0)
			return -EFAULT;
		if (!o->host_nb && ioctl(o->hostfd, FIONBIO, &v) < 0)
			return -errno;
		o->flags = v ? (o->flags | O_NONBLOCK) : (o->flags & ~O_NONBLOCK);
		return 0;
	case FIONREAD:
		if (S_ISDIR(o->type))
			return -ENOTTY;
		if (ioctl(o->hostfd, FIONREAD, &v) < 0)
			return -errno;
		return copy_to_user(d, a[2], &v, sizeof(v));
	}
	/* Every other request is a terminal's: only character devices. */
	if (!S_ISCHR(o->type))
		return -ENOTTY;
	if (cmd == TIOCSCTTY || cmd == TIOCSPGRP || cmd == TIOCGPGRP || cmd == TIOCGSID) {
		/* A pty of the domain's own: its session and groups are kept
		 * here (ptyjob.c). */
		if (cmd == TIOCSPGRP && copy_from_user(d, &v, a[2], sizeof(v)) < 0)
			return -EFAULT;
		ret = ptyjob_ioctl(d, t->proc, o->hostfd, cmd, &v);
		if (ret != PTYJOB_NOT_OURS)
			return ret == 0 && (cmd == TIOCGPGRP || cmd == TIOCGSID) ?
			       copy_to_user(d, a[2], &v, sizeof(v)) : ret;
		if (cmd == TIOCSCTTY)
			return isatty(o->hostfd) ? -EPERM : -ENOTTY; /* pdvm's own terminal */
	}
	if (cmd == TIOCSPGRP) {
		/* tcsetpgrp: the domain's own foreground group (which Ctrl-C
		 * signals); the host terminal's stays pdvm's. */
		if (!isatty(o->hostfd))
			return -ENOTTY;
		if (copy_from_user(d, &v, a[2], sizeof(v)) < 0)
			return -EFAULT;
		if (v < 0)
			return -EINVAL;
		for (int i = 0; i < MAX_PROCS; i++)
			if (d->procs[i] && d->procs[i]->pgid == v && !d->procs[i]->zombie) {
				d->fg_pgid = v;
				return 0;
			}
		return -EPERM;
	}
	o = ofd_get(o);
	ret = ioctl_tty(t, o, cmd, a[2]);
	ofd_put(o);
	return ret;
}

static long do_pipe2(struct thread *t, uint64_t ufds, int flags)
{
	struct domain *d = t->dom;
	char desc[64];
	int p[2], fds[2];
	struct ofd *o;

	if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
		return -EINVAL;
	/* Two free slots first, so no host pipe is made for nothing. */
	fds[0] = fd_find_free(d, 0);
	if (fds[0] < 0 || fd_find_free(d, fds[0] + 1) < 0)
		return -EMFILE;
	/* The host pipe never blocks: reads and writes go straight into guest
	 * memory and wait in poll when the guest's call should block (where
	 * the host kernel lacks RWF_NOWAIT for pipes, as Linux 6.1). */
	if (pipe2(p, (flags & O_DIRECT) | O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	if (host_fd_path(p[0], desc, sizeof(desc)) < 0)
		strcpy(desc, "pipe:");
	o = ofd_new(p[0], O_RDONLY | (flags & (O_NONBLOCK | O_DIRECT)), OFD_PIPE, desc);
	if (!o) {
		close(p[1]);
		return -ENOMEM;
	}
	o->host_nb = true;
	fds[0] = fd_install(d, o, 0, flags & O_CLOEXEC);
	if (fds[0] < 0) {
		close(p[1]);
		return fds[0];
	}
	o = ofd_new(p[1], O_WRONLY | (flags & (O_NONBLOCK | O_DIRECT)), OFD_PIPE, desc);
	if (o)
		o->host_nb = true;
	fds[1] = o ? fd_install(d, o, 0, flags & O_CLOEXEC) : -ENOMEM;
	if (fds[1] < 0) {
		fd_close(d, fds[0]);
		return fds[1];
	}
	if (copy_to_user(d, ufds, fds, sizeof(fds)) < 0) {
		fd_close(d, fds[0]);
		fd_close(d, fds[1]);
		return -EFAULT;
	}
	return 0;
}

static long sys_pipe(struct thread *t, const uint64_t a[6])
{
	return do_pipe2(t, a[0], 0);
}

static long sys_pipe2(struct thread *t, const uint64_t a[6])
{
	return do_pipe2(t, a[0], (int)a[1]);
}

static long sys_flock(struct thread *t, const uint64_t a[6])
{
	struct ofd *o = fd_get(t->dom, (int)a[0]);
	int op = (int)a[1], r, err;
	bool wait;

	if (!o)
		return -EBADF;
	if (o->flags & O_PATH) {
		ofd_put(o);
		return -EBADF;
	}
	switch (op & ~LOCK_NB) {
	case LOCK_SH:
	case LOCK_EX:
	case LOCK_UN:
		break;
	default:
		ofd_put(o);
		return -EINVAL;
	}
	wait = !(op & LOCK_NB) && (op & ~LOCK_NB) != LOCK_UN;
	if (wait)
		dom_block_begin(t);
	r = flock(o->hostfd, op);
	err = errno;
	if (wait)
		dom_block_end(t);
	ofd_put(o);
	if (r < 0)
		return err == EINTR ? RESTART : -err;
	return 0;
}

const struct syscall_desc sys_fd_table[] = {
	{ SYS_close, "close", sys_close },
	{ SYS_close_range, "close_range", sys_close_range },
	{ SYS_dup, "dup", sys_dup },
	{ SYS_dup2, "dup2", sys_dup2 },
	{ SYS_dup3, "dup3", sys_dup3 },
	{ SYS_fcntl, "fcntl", sys_fcntl },
	{ SYS_ioctl, "ioctl", sys_ioctl },
	{ SYS_pipe, "pipe", sys_pipe },
	{ SYS_pipe2, "pipe2", sys_pipe2 },
	{ SYS_flock, "flock", sys_flock },
	{ -1, NULL, NULL },
};
