/* sys_splice.c: moving data between fds without the guest's buffers — copy_file_range, splice, tee — and vmsplice, which pdvm does as a copy. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "domain.h"
#include "pcache.h"
#include "files.h"
#include "memfd.h"
#include "gio.h"
#include "sock.h"
#include "syscall.h"
#include "uaccess.h"

#define RESTART (-ERESTART_SYSCALL)
#define SPLICE_F_ALL (SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT)
/* copy_file_range and splice between files hold the domain lock (files do
 * not block): bounded per call, as sendfile is; callers loop on short counts. */
#define COPY_MAX (8 * RW_MAX_CHUNK)

static bool is_pipe(const struct ofd *o)
{
	return S_ISFIFO(o->type);
}

/* ---- copy_file_range ---- */

/*
 * On the host fds, which carry the guest's access modes, O_APPEND and file
 * types: the host's checks are Linux's (EBADF for a wrong mode or O_APPEND,
 * EISDIR, EINVAL for what is no regular file or overlapping ranges of one
 * file, EXDEV across file systems, EFBIG, EPERM for a sealed memfd). The
 * destination is one the guest opened for writing, so the write policy
 * was applied when it was opened.
 */
static long sys_copy_file_range(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	struct ofd *in = fd_peek(d, (int)a[0]), *out;
	loff_t pin = 0, pout = 0;
	ssize_t r;

	if (!in || a[0] > INT32_MAX || !(out = fd_peek(d, (int)a[2])) || a[2] > INT32_MAX)
		return -EBADF;
	if ((a[1] && copy_from_user(d, &pin, a[1], sizeof(pin))) ||
	    (a[3] && copy_from_user(d, &pout, a[3], sizeof(pout))))
		return -EFAULT;
	if (a[5])
		return -EINVAL;
	r = memfd_write_room(d, out, a[3] ? pout : -1, MIN(a[4], COPY_MAX));
	if (r < 0)
		return r;
	struct pcio cin, cout;
	pcio_begin(d, in->hostfd, a[1] ? pin : -1, (uint64_t)r, false, &cin);
	pcio_begin(d, out->hostfd, a[3] ? pout : -1, (uint64_t)r, true, &cout);
	r = copy_file_range(in->hostfd, a[1] ? &pin : NULL, out->hostfd, a[3] ? &pout : NULL,
			    (size_t)r, 0);
	int err = errno;
	pcio_end(d, &cin);
	pcio_end(d, &cout);
	errno = err;
	if (r < 0)
		return errno == EINTR ? RESTART : -errno;
	if (r > 0 && ((a[1] && copy_to_user(d, a[1], &pin, sizeof(pin))) ||
		      (a[3] && copy_to_user(d, a[3], &pout, sizeof(pout)))))
		return -EFAULT;
	return r;
}

/* ---- splice and tee ---- */

/*
 * The domain's own pipes are non-blocking on the host (host_nb, see
 * do_pipe2), so the host call answers EAGAIN where the guest's would have
 * waited; then the wait is made here, the domain lock dropped, on the pipe
 * end that is not ready, and the call is made again. Which pipe end's
 * O_NONBLOCK counts follows Linux's do_splice: both for pipe to pipe (and
 * tee), the input pipe's for pipe to file, the output pipe's for file to
 * pipe; SPLICE_F_NONBLOCK makes every pipe end non-blocking. A socket end
 * blocks on the host as the guest's does, with the lock dropped.
 */
struct xfer {
	struct ofd *in, *out;
	bool in_waits, out_waits;   /* an end the guest would wait on, host_nb */
};

static void xfer_ends(struct xfer *x, unsigned int flags)
{
	bool nb = flags & SPLICE_F_NONBLOCK;
	bool ip = is_pipe(x->in), op = is_pipe(x->out);

	if (ip && op)
		nb |= ((x->in->flags | x->out->flags) & O_NONBLOCK) != 0;
	else if (ip)
		nb |= (x->in->flags & O_NONBLOCK) != 0;
	else if (op)
		nb |= (x->out->flags & O_NONBLOCK) != 0;
	x->in_waits = ip && x->in->host_nb && !nb;
	x->out_waits = op && x->out->host_nb && !nb;
}

static bool ready(int fd, short ev)
{
	struct pollfd p = { fd, ev, 0 };

	return poll(&p, 1, 0) != 0;
}

/* After the host's EAGAIN: waits for the end the guest would wait on.
 * 1 to try again, or what the call returns. */
static long xfer_wait(struct thread *t, const struct xfer *x)
{
	int w;

	if (x->in_waits && !ready(x->in->hostfd, POLLIN))
		w = sock_wait(t, x->in->hostfd, POLLIN);
	else if (x->out_waits && !ready(x->out->hostfd, POLLOUT))
		w = sock_wait(t, x->out->hostfd, POLLOUT);
	else
		return -EAGAIN;         /* the other end is non-blocking */
	return w > 0 ? 1 : w ? w : RESTART;
}

/* splice (tee when tee) on the host until it is not EAGAIN for an end the
 * guest waits on. A pipe with no reader raises SIGPIPE, as Linux does. */
static long xfer_run(struct thread *t, struct xfer *x, loff_t *pin, loff_t *pout, size_t len,
		     unsigned int flags, bool tee_only)
{
	bool blocks = x->in->may_block || x->out->may_block;
	ssize_t r;
	int err;

	len = MIN(len, (size_t)MAX_RW_COUNT);
	if (!blocks)
		len = MIN(len, COPY_MAX);
	for (;;) {
		/* A file end with cached pages (splice moves file data
		 * without a pipe end's copy into guest memory). */
		struct pcio cin, cout;
		pcio_begin(t->dom, x->in->hostfd, pin ? *pin : -1, len, false, &cin);
		pcio_begin(t->dom, x->out->hostfd, pout ? *pout : -1, len, true, &cout);
		if (blocks)
			dom_block_begin(t);
		r = tee_only ? tee(x->in->hostfd, x->out->hostfd, len, flags)
			     : splice(x->in->hostfd, pin, x->out->hostfd, pout, len, flags);
		err = errno;
		if (blocks)
			dom_block_end(t);
		pcio_end(t->dom, &cin);
		pcio_end(t->dom, &cout);
		if (r >= 0)
			return r;
		if (err == EPIPE)
			sock_sigpipe(t);
		if (err != EAGAIN)
			return err == EINTR ? RESTART : -err;
		long w = xfer_wait(t, x);
		if (w != 1)
			return w;
	}
}

/* An offset argument (Linux's __do_splice): ESPIPE for a pipe end, then
 * EFAULT. *p is the host's pointer (NULL: the file position). */
static long offset_in(struct domain *d, const struct ofd *o, uint64_t uoff, loff_t *v, loff_t **p)
{
	*p = NULL;
	if (!uoff)
		return 0;
	if (is_pipe(o))
		return -ESPIPE;
	if (copy_from_user(d, v, uoff, sizeof(*v)))
		return -EFAULT;
	*p = v;
	return 0;
}

static long sys_splice(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	unsigned int flags = (unsigned int)a[5];
	struct xfer x;
	loff_t vin, vout, *pin, *pout;
	long r;

	if (!a[4])
		return 0;
	if (flags & ~SPLICE_F_ALL)
		return -EINVAL;
	x.in = fd_get(d, (int)a[0]);
	x.out = fd_get(d, (int)a[2]);
	if (!x.in || !x.out || a[0] > INT32_MAX || a[2] > INT32_MAX) {
		r = -EBADF;
		goto out;
	}
	if ((r = offset_in(d, x.in, a[1], &vin, &pin)) || (r = offset_in(d, x.out, a[3], &vout, &pout)))
		goto out;
	xfer_ends(&x, flags);
	r = memfd_write_room(d, x.out, pout ? *pout : -1, a[4]);
	if (r > 0)
		r = xfer_run(t, &x, pin, pout, (size_t)r, flags, false);
	if (r >= 0 && ((pin && copy_to_user(d, a[1], pin, sizeof(*pin))) ||
		       (pout && copy_to_user(d, a[3], pout, sizeof(*pout)))))
		r = -EFAULT;
out:
	ofd_put(x.in);
	ofd_put(x.out);
	return r;
}

static long sys_tee(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	unsigned int flags = (unsigned int)a[3];
	struct xfer x;
	long r;

	if (flags & ~SPLICE_F_ALL)
		return -EINVAL;
	if (!a[2])
		return 0;
	x.in = fd_get(d, (int)a[0]);
	x.out = fd_get(d, (int)a[1]);
	if (!x.in || !x.out || a[0] > INT32_MAX || a[1] > INT32_MAX) {
		r = -EBADF;
		goto out;
	}
	xfer_ends(&x, flags);
	r = xfer_run(t, &x, NULL, NULL, a[2], flags, true);
out:
	ofd_put(x.in);
	ofd_put(x.out);
	return r;
}

/* ---- vmsplice ---- */

/*
 * Linux hands the user's pages themselves to the pipe (SPLICE_F_GIFT even
 * lets the reader steal them). The host kernel must never hold guest
 * memory past the call, so pdvm copies instead: the bytes go into (or come
 * out of) the pipe as by writev (readv), which the host copies. What
 * stays Linux's: one call moves what the pipe takes at once (no waiting
 * for the rest, unlike a write), only SPLICE_F_NONBLOCK makes it
 * non-blocking (not the pipe's O_NONBLOCK), an empty pipe with no writer
 * reads 0, and one with no reader is EPIPE with SIGPIPE.
 */

/* The domain's own pipes: guest memory in place, never blocking the host. */
static long vm_pipe_nb(struct thread *t, struct ofd *o, const struct gseg *seg, int nseg, bool wr, bool nb)
{
	struct iovec hv[GIO_BATCH];
	size_t batch;
	bool fault;

	for (;;) {
		int n = gio_iov(t->dom, seg, nseg, 0, wr, hv, &batch, &fault);
		if (n == 0)
			return fault ? -EFAULT : 0;
		ssize_t r = wr ? writev(o->hostfd, hv, n) : readv(o->hostfd, hv, n);
		if (r >= 0)
			return r;
		if (errno != EAGAIN || nb)
			return -errno;
		int w = sock_wait(t, o->hostfd, wr ? POLLOUT : POLLIN);
		if (w <= 0)
			return w ? w : RESTART;
	}
}

/* Other pipes (a FIFO, pdvm's own stdin or stdout) block on the host: wait
 * until the pipe is ready, then move at most what cannot block — PIPE_BUF
 * into a pipe with room for it, or what a read returns — through a buffer,
 * with the domain lock dropped. */
static long vm_pipe_blocking(struct thread *t, struct ofd *o, const struct gseg *seg, int nseg, bool wr, bool nb)
{
	struct domain *d = t->dom;
	short ev = wr ? POLLOUT : POLLIN;
	size_t n = wr ? PIPE_BUF : 65536, got = 0;
	char *buf;
	ssize_t r;
	int err;

	if (!ready(o->hostfd, ev)) {
		if (nb)
			return -EAGAIN;
		int w = sock_wait(t, o->hostfd, ev);
		if (w <= 0)
			return w ? w : RESTART;
	}
	if (!(buf = malloc(n)))
		return -ENOMEM;
	if (wr) {
		for (int i = 0; i < nseg && got < n; i++) {
			size_t c = MIN(seg[i].len, n - got);
			if (copy_from_user(d, buf + got, seg[i].base, c))
				break;
			got += c;
		}
		if (!got) {
			free(buf);
			return -EFAULT;
		}
		n = got;
	}
	dom_block_begin(t);
	r = wr ? write(o->hostfd, buf, n) : read(o->hostfd, buf, n);
	err = errno;
	dom_block_end(t);
	if (r > 0 && !wr) {
		size_t done = 0;
		for (int i = 0; i < nseg && done < (size_t)r; i++) {
			size_t c = MIN(seg[i].len, (size_t)r - done);
			if (copy_to_user(d, seg[i].base, buf + done, c))
				break;
			done += c;
		}
		r = done ? (ssize_t)done : -1;
		err = EFAULT;
	}
	free(buf);
	return r >= 0 ? r : err == EINTR ? RESTART : -err;
}

static long sys_vmsplice(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	unsigned int flags = (unsigned int)a[3];
	struct gseg *seg = NULL;
	struct ofd *o;
	int nseg = 0;
	long r;
	bool wr;

	if (flags & ~SPLICE_F_ALL)
		return -EINVAL;
	o = fd_get(d, (int)a[0]);
	if (!o || a[0] > INT32_MAX || (o->flags & O_PATH)) {
		ofd_put(o);
		return -EBADF;
	}
	/* A description open for writing is written to, else read from. */
	wr = (o->flags & O_ACCMODE) != O_RDONLY;
	r = a[2] > UIO_MAXIOV_K ? -EINVAL : (seg = malloc((a[2] ? a[2] : 1) * sizeof(*seg))) ? 0 : -ENOMEM;
	if (!r)
		r = gio_import(d, a[1], a[2], seg, &nseg);
	if (!r && nseg) {
		if (!is_pipe(o))
			r = -EBADF;
		else if (o->host_nb)
			r = vm_pipe_nb(t, o, seg, nseg, wr, flags & SPLICE_F_NONBLOCK);
		else
			r = vm_pipe_blocking(t, o, seg, nseg, wr, flags & SPLICE_F_NONBLOCK);
		if (r == -EPIPE)
			sock_sigpipe(t);
	}
	free(seg);
	ofd_put(o);
	return r;
}

const struct syscall_desc sys_splice_table[] = {
	{ SYS_copy_file_range, "copy_file_range", sys_copy_file_range },
	{ SYS_splice, "splice", sys_splice },
	{ SYS_tee, "tee", sys_tee },
	{ SYS_vmsplice, "vmsplice", sys_vmsplice },
	{ -1, NULL, NULL },
};
