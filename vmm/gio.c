/* gio.c: guest memory as host iovecs — guest buffers used in place by the host's read, write, send and receive calls, with the waits a blocking descriptor needs. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "domain.h"
#include "files.h"
#include "gio.h"
#include "sock.h"
#include "syscall.h"
#include "uaccess.h"

long gio_import(struct domain *d, uint64_t uiov, uint64_t cnt, struct gseg *seg, int *nseg)
{
	struct { uint64_t base, len; } v[UIO_MAXIOV_K];
	size_t total = 0;
	int n = 0;

	if (cnt > UIO_MAXIOV_K)
		return -EINVAL;
	if (cnt && copy_from_user(d, v, uiov, cnt * sizeof(v[0])) < 0)
		return -EFAULT;
	for (uint64_t i = 0; i < cnt; i++) {
		size_t len = v[i].len;

		if ((int64_t)len < 0)
			return -EINVAL;
		if (len && (len > USER_MAX || v[i].base > USER_MAX - len))
			return -EFAULT;
		if (len > MAX_RW_COUNT - total)
			len = MAX_RW_COUNT - total;     /* Linux truncates, too */
		total += len;
		if (len) {
			seg[n].base = v[i].base;
			seg[n].len = len;
			n++;
		}
	}
	*nseg = n;
	return 0;
}

int gio_iov(struct domain *d, const struct gseg *seg, int nseg, size_t skip, bool wr, struct iovec *hv,
	    size_t *bytes, bool *fault)
{
	int i = 0, n = 0;
	size_t pos = skip;
	*bytes = 0;
	*fault = false;
	while (i < nseg && pos >= seg[i].len)
		pos -= seg[i++].len;
	while (n < GIO_BATCH && i < nseg) {
		uint64_t va = seg[i].base + pos;
		size_t rem = seg[i].len - pos, chunk = rem;
		void *p = rem ? user_ptr(d, va, rem, !wr) : NULL;

		if (rem && !p) {
			chunk = MIN(rem, PAGE_SIZE - (va & (PAGE_SIZE - 1)));
			p = user_ptr(d, va, chunk, !wr);
		}
		if (rem && !p) {
			*fault = true;
			break;
		}
		if (rem && n && (uint8_t *)hv[n - 1].iov_base + hv[n - 1].iov_len == p) {
			/* Frames that follow each other in host memory make one
			 * piece: the host copies in fewer, longer runs. */
			hv[n - 1].iov_len += chunk;
			*bytes += chunk;
			pos += chunk;
		} else if (rem) {
			hv[n].iov_base = p;
			hv[n].iov_len = chunk;
			n++;
			*bytes += chunk;
			pos += chunk;
		}
		if (pos == seg[i].len) {
			i++;
			pos = 0;
		}
	}
	return n;
}

void gio_msg_in(struct msghdr *m, const struct msghdr *hm)
{
	m->msg_name = hm->msg_name;
	m->msg_namelen = hm->msg_namelen;
	m->msg_control = hm->msg_control;
	m->msg_controllen = hm->msg_controllen;
}

void gio_msg_out(struct msghdr *hm, const struct msghdr *m)
{
	hm->msg_namelen = m->msg_namelen;
	hm->msg_controllen = m->msg_controllen;
	hm->msg_flags = m->msg_flags;
}

/* Whether a socket keeps message boundaries (then one host call must carry
 * the whole message). */
static bool keeps_boundaries(int fd)
{
	int type = 0;
	socklen_t l = sizeof(type);
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != SOCK_STREAM;
}

long gio_nowait(struct thread *t, struct ofd *o, const struct gseg *seg, int nseg, bool wr, size_t sum,
		struct msghdr *hm, int flags)
{
	struct iovec hv[GIO_BATCH];
	size_t total = 0, batch;
	bool fault, sock = o->kind == OFD_SOCKET, first = true;
	bool nb = (o->flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
	/* A read returns what came; a write (and MSG_WAITALL) goes on. */
	bool more = wr || ((flags & MSG_WAITALL) && !(flags & MSG_PEEK));

	for (;;) {
		int n = gio_iov(t->dom, seg, nseg, total, wr, hv, &batch, &fault);
		if (n == 0 && fault)
			return total ? (long)total : -EFAULT;
		if (sock && first && (batch < sum - total || fault) && keeps_boundaries(o->hostfd))
			/* A message in more pieces than one call takes, or cut
			 * short by a bad page (Linux: EFAULT, nothing sent). */
			return fault ? -EFAULT : -EOPNOTSUPP;
		struct msghdr m = { .msg_iov = hv, .msg_iovlen = (size_t)n };
		if (hm && first)
			gio_msg_in(&m, hm);
		ssize_t r;
		if (sock)
			r = wr ? sendmsg(o->hostfd, &m, flags | MSG_DONTWAIT | MSG_NOSIGNAL)
			       : recvmsg(o->hostfd, &m, flags | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		else if (o->host_nb)
			r = wr ? writev(o->hostfd, hv, n) : readv(o->hostfd, hv, n);
		else
			r = wr ? pwritev2(o->hostfd, hv, n, -1, RWF_NOWAIT) : preadv2(o->hostfd, hv, n, -1, RWF_NOWAIT);
		if (r >= 0) {
			if (hm && first && !wr)
				gio_msg_out(hm, &m);
			first = false;
			total += (size_t)r;
			if (!more || total >= sum || fault || r == 0)
				return (long)total;
			continue;
		}
		int e = errno;
		if (e != EAGAIN || nb)
			return total ? (long)total : -e;
		int w = sock_wait(t, o->hostfd, wr ? POLLOUT : POLLIN);
		if (w <= 0)
			return total ? (long)total : w ? w : -ERESTART_SYSCALL;
	}
}
