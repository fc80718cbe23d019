/* sys_net.c: sockets on the host's network stack — socket, bind, connect, listen, accept, send/recv, options — with AF_UNIX paths confined to the root. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "domain.h"
#include "files.h"
#include "scm.h"
#include "gio.h"
#include "sock.h"
#include "sockpolicy.h"
#include "syscall.h"
#include "uaccess.h"

#define RESTART         (-ERESTART_SYSCALL)
#define MAX_ADDR        128             /* sizeof(struct sockaddr_storage) */
#define MAX_OPT         256
#define MAX_IO          (1 << 20)

static bool family_ok(int f)
{
	return f == AF_INET || f == AF_INET6 || f == AF_UNIX || f == AF_NETLINK;
}

/* The description behind a socket fd: -EBADF, or -ENOTSOCK for another kind. */
static struct ofd *sock_get(struct domain *d, int fd, int *err)
{
	struct ofd *o = fd >= 0 ? fd_get(d, fd) : NULL;
	*err = -EBADF;
	if (o && o->kind != OFD_SOCKET) {
		ofd_put(o);
		o = NULL;
		*err = -ENOTSOCK;
	}
	return o;
}

static int install(struct domain *d, int hfd, int type_flags)
{
	char desc[48];
	int flags = O_RDWR | ((type_flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0);
	snprintf(desc, sizeof(desc), "socket:[%d]", hfd);
	return files_install(d, hfd, flags, OFD_SOCKET, desc, type_flags & SOCK_CLOEXEC);
}

static long sys_socket(struct thread *t, const uint64_t a[6])
{
	int fam = (int)a[0], type = (int)a[1], proto = (int)a[2];
	if (!family_ok(fam)) {
		dom_log(t->dom, "socket: address family %d is not supported (EAFNOSUPPORT)", fam);
		return -EAFNOSUPPORT;
	}
	if (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf))
		return -EINVAL;
	int e = sockpolicy_socket(fam, type, proto);
	if (e) {
		dom_log(t->dom, "socket(%d, %d, %d): not for an unprivileged process (%s)", fam, type & 0xf, proto,
			strerrorname_np(-e));
		return e;
	}
	if (fd_find_free(t->dom, 0) < 0)
		return -EMFILE;
	int h = socket(fam, type | SOCK_CLOEXEC, proto);
	return h < 0 ? -errno : install(t->dom, h, type);
}

static long sys_socketpair(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int type = (int)a[1], sv[2], g[2];
	if ((int)a[0] != AF_UNIX)
		return -EAFNOSUPPORT;
	if (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf))
		return -EINVAL;
	g[0] = fd_find_free(d, 0);
	if (g[0] < 0 || fd_find_free(d, g[0] + 1) < 0)
		return -EMFILE;
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, (int)a[2], sv) < 0)
		return -errno;
	g[0] = install(d, sv[0], type);
	if (g[0] < 0) {
		close(sv[1]);
		return g[0];
	}
	g[1] = install(d, sv[1], type);
	if (g[1] < 0) {
		fd_close(d, g[0]);
		return g[1];
	}
	/* Both ends' credentials are their maker's (SO_PEERCRED). */
	struct sock *s0 = sock_of(fd_peek(d, g[0]), true), *s1 = sock_of(fd_peek(d, g[1]), true);
	if (!s0 || !s1 || sock_pair_link(s0, s1) || copy_to_user(d, a[3], g, sizeof(g))) {
		fd_close(d, g[0]);
		fd_close(d, g[1]);
		return s0 && s1 && s0->pair ? -EFAULT : -ENOMEM;
	}
	s0->cred_pid = s0->peer_pid = s1->cred_pid = s1->peer_pid = t->proc->pid;
	return 0;
}

/* A guest address for a host call (sock_addr_host does the UNIX paths). */
static int addr_in(struct domain *d, gva_t ua, uint64_t len, struct sockaddr_storage *ss,
		   socklen_t *sl, bool bind, int *dirfd, struct sock_uname **name)
{
	*dirfd = -1;
	if (name)
		*name = NULL;
	if (len > MAX_ADDR)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (copy_from_user(d, ss, ua, len))
		return -EFAULT;
	*sl = (socklen_t)len;
	return sock_addr_host(d, ss, sl, bind, dirfd, name);
}

/* Keeps the UNIX name of a successful bind (local) or connect (peer) on
 * the socket, for getsockname/getpeername and for images. */
static void keep_name(struct ofd *o, long r, bool peer, struct sock_uname *name)
{
	struct sock *s = !r && name ? sock_of(o, true) : NULL;
	if (!s) {
		sock_uname_free(name);
		return;
	}
	struct sock_uname **slot = peer ? &s->peer : &s->local;
	sock_uname_free(*slot);
	*slot = name;
}

/* Copies a host address out as Linux does: truncated to the guest's
 * buffer, the full length reported. */
static int addr_out(struct domain *d, const struct sockaddr_storage *ss, socklen_t sl, gva_t ua, gva_t ulen)
{
	if (!ua || !ulen)
		return 0;
	int32_t glen;
	if (copy_from_user(d, &glen, ulen, 4))
		return -EFAULT;
	if (glen < 0)
		return -EINVAL;
	/* A confined path shows as the host's /proc/self/fd/N/...: the guest
	 * gets its own path for one of its sockets, else an unnamed address
	 * rather than a host path. */
	struct sockaddr_storage g = *ss;
	sl = sock_bound_guest(d, &g, sl);
	if (copy_to_user(d, ua, &g, MIN((socklen_t)glen, sl)) || copy_to_user(d, ulen, &sl, 4))
		return -EFAULT;
	return 0;
}

static long sys_bind(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int err, dirfd;
	struct ofd *o = sock_get(d, (int)a[0], &err);
	if (!o)
		return err;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct sock_uname *name;
	long r = addr_in(d, a[1], a[2], &ss, &sl, true, &dirfd, &name);
	if (!r)
		r = bind(o->hostfd, (struct sockaddr *)&ss, sl) < 0 ? -errno : 0;
	if (!r && dirfd >= 0) {
		sock_bound_add(d, sock_of(o, true), (struct sockaddr_un *)&ss, sl, dirfd, name);
		dirfd = -1;
	}
	if (dirfd >= 0)
		close(dirfd);
	keep_name(o, r, false, name);
	ofd_put(o);
	return r;
}

/* Blocking connect as a non-blocking one plus a wait, so that a pause or a
 * signal can interrupt it and the re-issued call picks it up again. */
static long sys_connect(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int err, dirfd;
	struct ofd *o = sock_get(d, (int)a[0], &err);
	if (!o)
		return err;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct sock_uname *name = NULL;
	long r = addr_in(d, a[1], a[2], &ss, &sl, false, &dirfd, &name);
	if (r)
		goto out;
	/* A snapshot of a connection still in its handshake connects again. */
	struct sock *s = ss.ss_family == AF_INET || ss.ss_family == AF_INET6 ? sock_of(o, true) : NULL;
	if (s && sl <= sizeof(s->dst)) {
		memcpy(&s->dst, &ss, sl);
		s->dstlen = sl;
	}
	bool nb = o->flags & O_NONBLOCK;
	int fl = fcntl(o->hostfd, F_GETFL);
	if (!nb)
		fcntl(o->hostfd, F_SETFL, fl | O_NONBLOCK);
	r = connect(o->hostfd, (struct sockaddr *)&ss, sl) < 0 ? -errno : 0;
	if (!nb) {
		fcntl(o->hostfd, F_SETFL, fl);
		if (r == -EISCONN && t->restart.valid)
			r = 0;
		if (r == -EINPROGRESS || r == -EALREADY) {
			int w = sock_wait(t, o->hostfd, POLLOUT);
			if (w == 0) {
				t->restart.valid = true; /* the re-issued call finds it done */
				r = RESTART;
			} else if (w < 0) {
				r = w;
			} else {
				int so = 0;
				socklen_t l = sizeof(so);
				getsockopt(o->hostfd, SOL_SOCKET, SO_ERROR, &so, &l);
				r = -so;
			}
		}
	}
	/* A datagram socket's connect to AF_UNSPEC dissolves the association. */
	if (!r && ss.ss_family == AF_UNSPEC && sock_of(o, false)) {
		sock_uname_free(sock_of(o, false)->peer);
		sock_of(o, false)->peer = NULL;
	}
	/* A UNIX connection: the peer's SO_PEERCRED is the connecting
	 * process, ours the listener's, where the listener is the domain's. */
	if (!r && name && (s = sock_of(o, true))) {
		struct ofd *l = sock_unix_listener(d, name);
		struct sock *ls = sock_of(l, false);
		s->cred_pid = t->proc->pid;
		s->peer_pid = ls ? ls->cred_pid : 0;
	}
out:
	keep_name(o, r, true, name);
	if (dirfd >= 0)
		close(dirfd);
	ofd_put(o);
	return r;
}

static long sys_listen(struct thread *t, const uint64_t a[6])
{
	int err;
	struct ofd *o = sock_get(t->dom, (int)a[0], &err);
	if (!o)
		return err;
	long r = listen(o->hostfd, (int)a[1]) < 0 ? -errno : 0;
	struct sock *s = r ? NULL : sock_of(o, true);
	if (s) {
		s->backlog = (int)a[1]; /* to listen again after a restore */
		/* What its connections' peers read in SO_PEERCRED, and its
		 * own SO_PEERCRED (Linux's init_peercred at listen). */
		s->cred_pid = s->peer_pid = t->proc->pid;
	}
	ofd_put(o);
	return r;
}

/* An accepted UNIX connection: its own credentials are the listener's; a
 * client that is the domain's (the host names pdvm as the peer) is found
 * by sock_diag, for SO_PEERCRED and as the other end of a sock_pair. */
static void accepted_creds(struct domain *d, struct ofd *c, struct sock *ns, struct sock *ls)
{
	struct ucred uc;
	socklen_t l = sizeof(uc);

	ns->cred_pid = ls->cred_pid;
	if (getsockopt(c->hostfd, SOL_SOCKET, SO_PEERCRED, &uc, &l) < 0 || uc.pid != getpid())
		return;
	struct sock *ps = sock_of(sock_unix_peer(d, c, NULL), false);
	if (!ps)
		return;
	ns->peer_pid = ps->cred_pid;
	if (!ps->pair)
		sock_pair_link(ns, ps);
}

static long do_accept(struct thread *t, const uint64_t a[6], int flags)
{
	struct domain *d = t->dom;
	int err;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	struct ofd *o = sock_get(d, (int)a[0], &err);
	if (!o)
		return err;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	long r;
	if (fd_find_free(d, 0) < 0) {
		r = -EMFILE;
		goto out;
	}
	/* Connections an image took out of the host's queue come first. */
	struct ofd *c = sock_aq_pop(o);
	if (c) {
		c->flags = O_RDWR | ((flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0);
		fcntl(c->hostfd, F_SETFL, c->flags & O_NONBLOCK);
		r = fd_install(d, c, 0, flags & SOCK_CLOEXEC); /* takes the reference */
		sl = sizeof(ss);
		if (r >= 0 && getpeername(c->hostfd, (struct sockaddr *)&ss, &sl) == 0 &&
		    (err = addr_out(d, &ss, sl, a[1], a[2]))) {
			fd_close(d, (int)r);
			r = err;
		}
		goto out;
	}
	/* Never block in the host call with the domain lock held: the
	 * listening socket is non-blocking for it, the waits happen below. */
	int fl = fcntl(o->hostfd, F_GETFL);
	for (;;) {
		if (!(fl & O_NONBLOCK))
			fcntl(o->hostfd, F_SETFL, fl | O_NONBLOCK);
		sl = sizeof(ss);
		int h = accept4(o->hostfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int e = errno;
		if (!(fl & O_NONBLOCK))
			fcntl(o->hostfd, F_SETFL, fl);
		errno = e;
		if (h >= 0) {
			if (!(flags & SOCK_NONBLOCK))
				fcntl(h, F_SETFL, fcntl(h, F_GETFL) & ~O_NONBLOCK);
			r = install(d, h, flags);
			/* The connection's own name is the listener's (Linux
			 * shares the address). */
			struct sock *ls = sock_of(o, false), *ns = r >= 0 ? sock_of(fd_peek(d, (int)r), true) : NULL;
			if (ns && ls && ls->local)
				ns->local = sock_uname_dup(ls->local);
			if (ns && ls)
				accepted_creds(d, fd_peek(d, (int)r), ns, ls);
			if (r >= 0 && (err = addr_out(d, &ss, sl, a[1], a[2]))) {
				fd_close(d, (int)r);
				r = err;
			}
			break;
		}
		r = -errno;
		if ((r != -EAGAIN && r != -EINTR) || (o->flags & O_NONBLOCK))
			break;
		int w = sock_wait(t, o->hostfd, POLLIN);
		if (w <= 0) {
			r = w ? w : RESTART;
			break;
		}
	}
out:
	ofd_put(o);
	return r;
}

static long sys_accept(struct thread *t, const uint64_t a[6])
{
	return do_accept(t, a, 0);
}

static long sys_accept4(struct thread *t, const uint64_t a[6])
{
	return do_accept(t, a, (int)a[3]);
}

static long sys_shutdown(struct thread *t, const uint64_t a[6])
{
	int err;
	struct ofd *o = sock_get(t->dom, (int)a[0], &err);
	if (!o)
		return err;
	long r = shutdown(o->hostfd, (int)a[1]) < 0 ? -errno : 0;
	ofd_put(o);
	return r;
}

#define MSG_OK (MSG_OOB | MSG_PEEK | MSG_DONTROUTE | MSG_DONTWAIT | MSG_EOR | MSG_WAITALL | \
		MSG_NOSIGNAL | MSG_MORE | MSG_TRUNC | MSG_CMSG_CLOEXEC | MSG_CONFIRM)

/*
 * What a restore put back is read before the host socket, through a bounce
 * buffer (so is a message gio_nowait cannot carry in one host call): the
 * host call never blocks, waits drop the domain lock.
 */
static long sock_bounce(struct thread *t, struct ofd *o, const struct gseg *seg, int nseg, size_t sum,
			struct msghdr *hm, int flags, bool send)
{
	struct domain *d = t->dom;
	bool nb = (o->flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
	sum = MIN(sum, (size_t)MAX_IO);
	char *buf = malloc(sum ? sum : 1);
	size_t off = 0;
	long r = buf ? 0 : -ENOMEM;
	for (int i = 0; send && i < nseg && off < sum && !r; off += seg[i++].len)
		if (copy_from_user(d, buf + off, seg[i].base, MIN(seg[i].len, sum - off)))
			r = -EFAULT;
	struct iovec hv = { buf, sum };
	struct msghdr m = { .msg_iov = &hv, .msg_iovlen = 1 };
	if (hm)
		gio_msg_in(&m, hm);
	bool from_rq = false;
	if (!r && !send) {
		int of = 0;
		long q = sock_rq_read(o, buf, sum, flags, m.msg_name, m.msg_name ? &m.msg_namelen : NULL, &of);
		if (q != -EAGAIN) {
			r = q;
			from_rq = true;
			m.msg_flags = of;
			m.msg_controllen = 0;
		}
	}
	while (!r && !from_rq) {
		ssize_t n = send ? sendmsg(o->hostfd, &m, flags | MSG_DONTWAIT | MSG_NOSIGNAL)
				 : recvmsg(o->hostfd, &m, flags | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n >= 0) {
			r = n;
			break;
		}
		r = -errno;
		if (r != -EAGAIN || nb)
			break;
		int w = sock_wait(t, o->hostfd, send ? POLLOUT : POLLIN);
		r = w > 0 ? 0 : w ? w : RESTART;
	}
	/* MSG_TRUNC makes r the datagram's whole length, which may exceed the
	 * buffer: only what the buffer holds goes out. */
	size_t got = r > 0 ? MIN((size_t)r, sum) : 0;
	off = 0;
	for (int i = 0; !send && r > 0 && i < nseg && off < got; off += seg[i++].len)
		if (copy_to_user(d, seg[i].base, buf + off, MIN(seg[i].len, got - off)))
			r = -EFAULT;
	if (hm && !send && r >= 0)
		gio_msg_out(hm, &m);
	free(buf);
	return r;
}

long sock_xfer(struct thread *t, struct ofd *o, const struct gseg *seg, int nseg, size_t sum,
		      struct msghdr *hm, int flags, bool send)
{
	long r = -EOPNOTSUPP;
	struct sock *s = send ? sock_of(o, false) : NULL;
	if (s && s->pair)
		s->pair->sent_by[s->end] = t->proc->pid; /* the sender its peer's credentials name */
	if (send || !sock_rq_pending(o))
		r = gio_nowait(t, o, seg, nseg, send, sum, hm, flags);
	if (r == -EOPNOTSUPP)
		r = sock_bounce(t, o, seg, nseg, sum, hm, flags, send);
	if (r == -EPIPE && send && !(flags & MSG_NOSIGNAL))
		sock_sigpipe(t);
	return r;
}

/* sendto/recvfrom. */
static long xfer(struct thread *t, int fd, gva_t ubuf, uint64_t len, int flags, gva_t uaddr,
		 uint64_t alen, gva_t ualen, bool send)
{
	struct domain *d = t->dom;
	int err, dirfd = -1;
	if (flags & ~MSG_OK)
		return -EINVAL;
	struct ofd *o = sock_get(d, fd, &err);
	if (!o)
		return err;
	struct gseg seg = { ubuf, MIN(len, (uint64_t)MAX_IO) };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	long r = 0;
	if (send && uaddr)
		r = addr_in(d, uaddr, alen, &ss, &sl, false, &dirfd, NULL);
	if (!r) {
		struct msghdr hm = { 0 };
		if (!send || uaddr) {
			hm.msg_name = &ss;
			hm.msg_namelen = sl;
		}
		r = sock_xfer(t, o, &seg, seg.len ? 1 : 0, seg.len, &hm, flags, send);
		if (!send && r >= 0 && uaddr && (err = addr_out(d, &ss, hm.msg_namelen, uaddr, ualen)))
			r = err;
	}
	if (dirfd >= 0)
		close(dirfd);
	ofd_put(o);
	return r;
}

static long sys_sendto(struct thread *t, const uint64_t a[6])
{
	return xfer(t, (int)a[0], a[1], a[2], (int)a[3], a[4], a[5], 0, true);
}

static long sys_recvfrom(struct thread *t, const uint64_t a[6])
{
	return xfer(t, (int)a[0], a[1], a[2], (int)a[3], a[4], 0, a[5], false);
}

/* sendmsg/recvmsg: the data in place; control messages through scm.c
 * (SCM_RIGHTS as host fds, received ones turned back into guest fds). */
static long msg(struct thread *t, const uint64_t a[6], bool send)
{
	struct domain *d = t->dom;
	struct msghdr m;
	int err, dirfd = -1;
	/* The socket first, as Linux looks it up before the message. */
	struct ofd *o = sock_get(d, (int)a[0], &err);
	if (!o)
		return err;
	long r = 0;
	if (copy_from_user(d, &m, a[1], sizeof(m)))
		r = -EFAULT;
	else if (m.msg_iovlen > UIO_MAXIOV_K)
		r = -EMSGSIZE;
	else if (send && m.msg_controllen > SCM_CTL_MAX)
		r = -ENOBUFS;
	if (r) {
		ofd_put(o);
		return r;
	}
	struct gseg *seg = malloc((m.msg_iovlen ? m.msg_iovlen : 1) * sizeof(*seg));
	int nseg = 0;
	r = seg ? gio_import(d, (gva_t)(uintptr_t)m.msg_iov, m.msg_iovlen, seg, &nseg) : -ENOMEM;
	size_t total = 0;
	for (int i = 0; i < nseg; i++)
		total += seg[i].len;
	size_t gclen = MIN(m.msg_controllen, (size_t)SCM_CTL_MAX);
	uint8_t *gctl = gclen ? malloc(SCM_CTL_MAX) : NULL, *hctl = gclen ? malloc(SCM_CTL_MAX) : NULL;
	struct ofd *held[SCM_CTL_MAX / sizeof(int)];
	int nheld = (int)(sizeof(held) / sizeof(held[0]));
	if (!r && gclen && (!gctl || !hctl))
		r = -ENOMEM;
	long hclen = 0;
	if (!r && send && gclen) {
		if (copy_from_user(d, gctl, (gva_t)(uintptr_t)m.msg_control, gclen))
			r = -EFAULT;
		else if ((hclen = scm_to_host(d, o, gctl, gclen, hctl, SCM_CTL_MAX, held, &nheld)) < 0)
			r = hclen;
	} else {
		nheld = 0;
		/* Linux writes the control messages and leaves the padding
		 * between them as the caller had it; the whole buffer goes back
		 * from here, so it starts as the guest's (and never as what
		 * pdvm's memory held: that would leak it). */
		if (!r && gclen && copy_from_user(d, gctl, (gva_t)(uintptr_t)m.msg_control, gclen))
			memset(gctl, 0, gclen);
	}
	int flags = (int)a[2];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (!r && send && m.msg_name)
		r = addr_in(d, (gva_t)(uintptr_t)m.msg_name, m.msg_namelen, &ss, &sl, false, &dirfd, NULL);
	if (!r) {
		struct msghdr hm = { .msg_control = hctl, .msg_controllen = send ? (size_t)hclen : gclen };
		if (send && m.msg_name) {
			hm.msg_name = &ss;
			hm.msg_namelen = sl;
		} else if (!send) {
			hm.msg_name = &ss;
			hm.msg_namelen = sizeof(ss);
		}
		if (!hm.msg_controllen)
			hm.msg_control = NULL;
		r = sock_xfer(t, o, seg, nseg, total, &hm, flags & MSG_OK, send);
		if (!send && r >= 0) {
			int ctrunc = 0;
			uint64_t glen = hm.msg_control ? scm_to_guest(d, o, hctl, hm.msg_controllen, gctl, gclen,
								       flags & MSG_CMSG_CLOEXEC, &ctrunc) : 0;
			/* The host always gets MSG_CMSG_CLOEXEC (for its fds); the
			 * guest reads back the flag it gave, as on Linux. */
			int32_t fl = (hm.msg_flags & ~MSG_CMSG_CLOEXEC) | (flags & MSG_CMSG_CLOEXEC) |
				     (ctrunc ? MSG_CTRUNC : 0);
			if (m.msg_name && m.msg_namelen) {
				socklen_t cl = MIN((socklen_t)m.msg_namelen, hm.msg_namelen);
				if (copy_to_user(d, (gva_t)(uintptr_t)m.msg_name, &ss, cl))
					r = -EFAULT;
			}
			uint32_t nl = hm.msg_namelen;
			if (r >= 0 && ((glen && copy_to_user(d, (gva_t)(uintptr_t)m.msg_control, gctl, glen)) ||
				       copy_to_user(d, a[1] + offsetof(struct msghdr, msg_namelen), &nl, 4) ||
				       copy_to_user(d, a[1] + offsetof(struct msghdr, msg_controllen), &glen, 8) ||
				       copy_to_user(d, a[1] + offsetof(struct msghdr, msg_flags), &fl, 4)))
				r = -EFAULT;
		}
	}
	if (dirfd >= 0)
		close(dirfd);
	for (int i = 0; i < nheld; i++)
		ofd_put(held[i]);
	free(seg);
	free(gctl);
	free(hctl);
	ofd_put(o);
	return r;
}

static long sys_sendmsg(struct thread *t, const uint64_t a[6])
{
	return msg(t, a, true);
}

static long sys_recvmsg(struct thread *t, const uint64_t a[6])
{
	return msg(t, a, false);
}

static long name(struct thread *t, const uint64_t a[6], bool peer)
{
	int err;
	struct ofd *o = sock_get(t->dom, (int)a[0], &err);
	if (!o)
		return err;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	int r = (peer ? getpeername : getsockname)(o->hostfd, (struct sockaddr *)&ss, &sl);
	/* A UNIX name the guest gave, not the host's /proc/self/fd path. */
	struct sock *s = sock_of(o, false);
	struct sock_uname *u = !s || ss.ss_family != AF_UNIX ? NULL : peer ? s->peer : s->local;
	if (r == 0 && u) {
		memcpy(&ss, &u->sa, u->len);
		sl = u->len;
	}
	long ret = r < 0 ? -errno : addr_out(t->dom, &ss, sl, a[1], a[2]);
	ofd_put(o);
	return ret;
}

static long sys_getsockname(struct thread *t, const uint64_t a[6])
{
	return name(t, a, false);
}

static long sys_getpeername(struct thread *t, const uint64_t a[6])
{
	return name(t, a, true);
}

static long sys_setsockopt(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int err, level = (int)a[1], opt = (int)a[2];
	uint8_t v[MAX_OPT];
	if (a[4] > MAX_OPT)
		return -EINVAL;
	struct ofd *o = sock_get(d, (int)a[0], &err);
	if (!o)
		return err;
	long r = 0;
	if (a[4] && copy_from_user(d, v, a[3], a[4]))
		r = -EFAULT;
	if (!r && (r = sockpolicy_setsockopt(level, opt, v, (unsigned)a[4])))
		dom_log(d, "setsockopt level %d option %d: not for an unprivileged process (%s)", level, opt,
			strerrorname_np((int)-r));
	if (!r)
		r = setsockopt(o->hostfd, level, opt, v, (socklen_t)a[4]) < 0 ? -errno : 0;
	ofd_put(o);
	return r;
}

/* SO_PEERCRED names pdvm when the peer is the domain's: the guest pid kept
 * for it (0 when unknown, as for a peer outside the domain: its host pid
 * would name another process or none inside it, as Linux gives 0 for a
 * peer outside the caller's pid namespace). uid and gid are the host's as
 * the guest's view shows them (cred.h). */
static void peercred_out(struct domain *d, struct ofd *o, struct ucred *uc)
{
	struct sock *s = sock_of(o, false);

	uc->uid = cred_uid_out(&d->cred, uc->uid);
	uc->gid = cred_gid_out(&d->cred, uc->gid);
	if (uc->pid != getpid()) {
		uc->pid = 0;
		return;
	}
	uc->pid = s ? s->peer_pid : 0;
	if (!uc->pid)
		uc->pid = sock_peer_pid(d, o); /* a connection a restore made */
}

static long sys_getsockopt(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int err, level = (int)a[1], opt = (int)a[2];
	int32_t glen;
	uint8_t v[MAX_OPT];
	if (copy_from_user(d, &glen, a[4], 4))
		return -EFAULT;
	if (glen < 0)
		return -EINVAL;
	struct ofd *o = sock_get(d, (int)a[0], &err);
	if (!o)
		return err;
	long r;
	socklen_t l = (socklen_t)MIN(glen, MAX_OPT);
	r = sockpolicy_getsockopt(level, opt);
	if (!r && getsockopt(o->hostfd, level, opt, v, &l) < 0)
		r = -errno;
	if (!r && level == SOL_SOCKET && opt == SO_PEERCRED && l >= sizeof(struct ucred))
		peercred_out(d, o, (struct ucred *)v);
	if (!r)
		r = copy_to_user(d, a[3], v, l) || copy_to_user(d, a[4], &l, 4) ? -EFAULT : 0;
	ofd_put(o);
	return r;
}

const struct syscall_desc sys_net_table[] = {
	{ SYS_socket, "socket", sys_socket },
	{ SYS_socketpair, "socketpair", sys_socketpair },
	{ SYS_bind, "bind", sys_bind },
	{ SYS_connect, "connect", sys_connect },
	{ SYS_listen, "listen", sys_listen },
	{ SYS_accept, "accept", sys_accept },
	{ SYS_accept4, "accept4", sys_accept4 },
	{ SYS_shutdown, "shutdown", sys_shutdown },
	{ SYS_sendto, "sendto", sys_sendto },
	{ SYS_recvfrom, "recvfrom", sys_recvfrom },
	{ SYS_sendmsg, "sendmsg", sys_sendmsg },
	{ SYS_recvmsg, "recvmsg", sys_recvmsg },
	{ SYS_getsockname, "getsockname", sys_getsockname },
	{ SYS_getpeername, "getpeername", sys_getpeername },
	{ SYS_setsockopt, "setsockopt", sys_setsockopt },
	{ SYS_getsockopt, "getsockopt", sys_getsockopt },
	{ -1, NULL, NULL },
};
