/* snap_sock.c: socket records in an image — family, type, addresses, options, listening and bound sockets, queued datagrams, the restart queue a restore fills; TCP connections through tcp_repair.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/domain.h"
#include "vmm/files.h"
#include "vmm/sock.h"
#include "snap_sock.h"
#include "snap_state.h"
#include "tcp_repair.h"
#include "vmm/syscall.h"

#define MAX_DGRAMS      65536
#define MAX_ACCEPT_QUEUE 65536

/* The options a socket record carries: plain values set before bind. */
static const struct { int level, opt; } sock_opts[] = {
	{ SOL_SOCKET, SO_REUSEADDR }, { SOL_SOCKET, SO_REUSEPORT }, { SOL_SOCKET, SO_KEEPALIVE },
	{ SOL_SOCKET, SO_BROADCAST }, { IPPROTO_TCP, TCP_NODELAY }, { IPPROTO_IPV6, IPV6_V6ONLY },
};
#define NOPTS ((int)(sizeof(sock_opts) / sizeof(sock_opts[0])))

/* What a TCP socket record holds past its options. */
enum { CONN_NONE, CONN_TCP, CONN_CONNECTING };

/* ---- writing ---- */

static void put_addr(struct sbuf *b, const struct sockaddr_storage *ss, socklen_t sl)
{
	sb_u32(b, sl);
	sb_put(b, ss, sl);
}

/*
 * The queued data of a datagram or UNIX socket: the host queue is drained
 * into the live socket's restart queue (so a domain that runs on reads it
 * once, epoll sets report it again), then the whole restart queue goes out:
 * stream bytes and whole datagrams.
 */
int snap_sock_put_queue(struct domain *d, struct ofd *o, struct sbuf *b, bool stream)
{
	struct sock *s = sock_of(o, true);
	char *buf = malloc(65536);
	int drained = 0;
	if (!buf || !s) {
		free(buf);
		return -ENOMEM;
	}
	for (;;) {
		struct sockaddr_storage ss;
		struct iovec iv = { buf, 65536 };
		struct msghdr m = { .msg_name = stream ? NULL : &ss, .msg_namelen = stream ? 0 : sizeof(ss),
				    .msg_iov = &iv, .msg_iovlen = 1 };
		ssize_t n = recvmsg(o->hostfd, &m, MSG_DONTWAIT);
		if (n == 0 && stream)
			s->eof = true; /* the peer had closed */
		if (n <= 0 && (stream || n < 0))
			break;
		int e = stream ? sock_rq_add_bytes(o, buf, (size_t)n)
			       : sock_rq_add_dgram(o, buf, (size_t)n, &ss, m.msg_namelen);
		if (e) {
			free(buf);
			return e;
		}
		drained++;
	}
	free(buf);
	if (drained)
		snap_epoll_rewatch(d, o);
	sb_u32(b, (uint32_t)(s->rlen - s->roff));
	sb_put(b, s->rbuf ? s->rbuf + s->roff : (const uint8_t *)"", s->rlen - s->roff);
	sb_u8(b, s->eof);
	uint32_t cnt = 0;
	for (struct sock_dgram *g = s->dq; g; g = g->next)
		cnt++;
	sb_u32(b, cnt);
	for (struct sock_dgram *g = s->dq; g; g = g->next) {
		put_addr(b, &g->addr, g->alen);
		sb_u32(b, (uint32_t)g->len);
		sb_put(b, g->data, g->len);
	}
	return 0;
}

int snap_put_sock(struct domain *d, const struct snap_freeze *fz, struct ofd **v, int n, struct ofd *o,
		  struct sbuf *b, char *err,
		  size_t errlen)
{
	int fd = o->hostfd;
	int fam = snap_gopt(fd, SOL_SOCKET, SO_DOMAIN), type = snap_gopt(fd, SOL_SOCKET, SO_TYPE);
	int proto = snap_gopt(fd, SOL_SOCKET, SO_PROTOCOL);
	struct sock *s = sock_of(o, false);
	if (fam == AF_UNIX)
		return snap_put_unix(d, v, n, o, b, err, errlen);
	if (fam == AF_NETLINK) {
		snprintf(err, errlen, "%s: a netlink socket cannot be checkpointed yet", o->path);
		return -EOPNOTSUPP;
	}
	if (type != SOCK_STREAM && type != SOCK_DGRAM) {
		snprintf(err, errlen, "%s: socket type %d cannot be checkpointed", o->path, type);
		return -EOPNOTSUPP;
	}
	struct sockaddr_storage la, pa;
	socklen_t ll = sizeof(la), pl = sizeof(pa);
	memset(&la, 0, sizeof(la));
	memset(&pa, 0, sizeof(pa));
	if (getsockname(fd, (struct sockaddr *)&la, &ll) < 0)
		ll = 0;
	if (getpeername(fd, (struct sockaddr *)&pa, &pl) < 0)
		pl = 0;
	bool listening = snap_gopt(fd, SOL_SOCKET, SO_ACCEPTCONN);
	bool tcp = type == SOCK_STREAM;
	bool conn = tcp && tcp_frozen(fz, o);
	if (tcp && !conn && !listening && pl) {
		snprintf(err, errlen, "%s: a connected TCP socket was not frozen", o->path);
		return -EIO;
	}
	/* A connect still in its handshake: the peer has nothing of it but a
	 * SYN, so the restore simply connects again from the same address. */
	bool connecting = tcp && !conn && !listening && tcp_state(fd) == TCP_SYN_SENT;
	if (connecting && !(s && s->dstlen)) {
		snprintf(err, errlen, "%s: a TCP connect in progress to an unknown address", o->path);
		return -EIO;
	}
	if (connecting) {
		memcpy(&pa, &s->dst, s->dstlen);
		pl = s->dstlen;
		dom_log(d, "%s: TCP syn-sent, connects again on restore", o->path);
	}
	if (tcp && listening) {
		struct tcp_info ti;
		socklen_t l = sizeof(ti);
		memset(&ti, 0, sizeof(ti));
		/* For a listener, tcpi_unacked is its accept queue: these came
		 * after the freeze took it (snap_sock_freeze). */
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) == 0 && ti.tcpi_unacked)
			dom_log(d, "%s: %u connection%s arrived while the image was written; a restore resets them",
				o->path, ti.tcpi_unacked, ti.tcpi_unacked > 1 ? "s" : "");
	}
	sb_u32(b, (uint32_t)fam);
	sb_u32(b, (uint32_t)type);
	sb_u32(b, (uint32_t)proto);
	sb_u8(b, listening);
	sb_u32(b, (uint32_t)(s && s->backlog > 0 ? s->backlog : SOMAXCONN));
	put_addr(b, &la, ll);
	put_addr(b, &pa, tcp && !conn && !connecting ? 0 : pl);
	sb_u32(b, NOPTS);
	for (int i = 0; i < NOPTS; i++) {
		bool applies = (sock_opts[i].level != IPPROTO_TCP || tcp) &&
			       (sock_opts[i].level != IPPROTO_IPV6 || fam == AF_INET6);
		sb_u8(b, applies);
		sb_u32(b, applies ? (uint32_t)snap_gopt(fd, sock_opts[i].level, sock_opts[i].opt) : 0);
	}
	sb_u8(b, conn ? CONN_TCP : connecting ? CONN_CONNECTING : CONN_NONE);
	int r = 0;
	if (conn)
		r = tcp_conn_put(d, fz, o, b, s);
	else if (!tcp)
		r = snap_sock_put_queue(d, o, b, false);
	if (r) {
		snprintf(err, errlen, "%s: saving socket state: %s", o->path, strerror(-r));
		return r;
	}
	if (tcp && listening) {
		/* Connections taken out of its accept queue (snap_sock_freeze),
		 * each a whole socket record. */
		sb_u32(b, (uint32_t)(s ? s->naq : 0));
		for (int i = 0; s && i < s->naq && !r; i++)
			r = snap_put_sock(d, fz, v, n, s->aq[i], b, err, errlen);
	}
	return r;
}

/* ---- restoring ---- */

static socklen_t get_addr(struct sread *r, struct sockaddr_storage *ss)
{
	uint32_t l = sr_u32(r);
	memset(ss, 0, sizeof(*ss));
	if (l > sizeof(*ss))
		sr_fail(r, "socket address too long");
	else if (l)
		sr_get(r, ss, l);
	return r->bad ? 0 : (socklen_t)l;
}

/* A connect that was in its handshake starts again (after the bind to its
 * old local address), without waiting: the guest's connect(), re-issued
 * after the restore, finds it in progress and waits for it (sys_connect).
 * 0 or -errno. */
static int connect_nowait(int fd, const struct sockaddr_storage *pa, socklen_t pl)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	int r = connect(fd, (const struct sockaddr *)pa, pl) < 0 && errno != EINPROGRESS ? -errno : 0;
	fcntl(fd, F_SETFL, fl);
	return r;
}

/* A restart queue as put_queue wrote it. 0, -1 (bad image) or -ENOMEM. */
int snap_sock_get_queue(struct sread *r, struct ofd *o)
{
	uint32_t len, n;
	const uint8_t *p = sr_bytes(r, SOCK_DATA_MAX, &len);
	bool eof = sr_u8(r);
	int ret = r->bad ? -1 : sock_rq_add_bytes(o, p, len);
	if (!ret)
		sock_of(o, true)->eof = eof;
	n = sr_u32(r);
	if (n > MAX_DGRAMS)
		sr_fail(r, "too many queued datagrams");
	for (uint32_t i = 0; i < n && !r->bad && !ret; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = get_addr(r, &ss);
		p = sr_bytes(r, SOCK_DATA_MAX, &len);
		if (!r->bad)
			ret = sock_rq_add_dgram(o, p, len, &ss, sl);
	}
	return r->bad ? -1 : ret;
}

/* An IPv4/IPv6 socket record after its family, type and protocol. An
 * accept-queue entry (`queued`) must be a connection. */
static int get_inet(struct sread *r, struct snap_restore *rs, int fam, int type, int proto, int flags, bool queued, struct ofd **out,
		    const char *desc, char *err, size_t errlen)
{
	bool listening = sr_u8(r);
	if (queued && listening)
		sr_fail(r, "a listening socket in an accept queue");
	uint32_t backlog = sr_u32(r);
	if (backlog > (1u << 20))
		sr_fail(r, "listen backlog out of range");
	struct sockaddr_storage la, pa;
	socklen_t ll = get_addr(r, &la), pl = get_addr(r, &pa);
	uint32_t nopts = sr_u32(r);
	if (nopts != NOPTS)
		sr_fail(r, "socket option count differs");
	bool has[NOPTS];
	int val[NOPTS];
	for (int i = 0; i < NOPTS && !r->bad; i++) {
		has[i] = sr_u8(r);
		val[i] = (int)sr_u32(r);
	}
	int how = sr_u8(r);
	bool conn = how == CONN_TCP, connecting = how == CONN_CONNECTING;
	struct tcp_rec t = { 0 };
	if ((fam != AF_INET && fam != AF_INET6) || (type != SOCK_STREAM && type != SOCK_DGRAM) ||
	    how > CONN_CONNECTING || (how && type != SOCK_STREAM) || (connecting && (!pl || listening || queued)))
		sr_fail(r, "socket record out of range");
	if (conn && !r->bad)
		tcp_conn_get(r, &t);
	if (r->bad) {
		free(t.lock);
		return -1;
	}
	int fd = socket(fam, type | SOCK_CLOEXEC, proto), ret = 0;
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		free(t.lock);
		return ret;
	}
	for (int i = 0; i < NOPTS; i++)
		if (has[i] && val[i])
			snap_sopt(fd, sock_opts[i].level, sock_opts[i].opt, val[i]);
	bool bound = ll && ((fam == AF_INET && ((struct sockaddr_in *)&la)->sin_port) ||
			    (fam == AF_INET6 && ((struct sockaddr_in6 *)&la)->sin6_port));
	char ls[80];
	snap_addr_text(&la, ls, sizeof(ls));
	if (conn) {
		if (t.lock && t.lock[0])
			tcp_note_lock(rs, t.lock);
		struct tcp_held *h = NULL;
		if (rs->hold_tcp) {
			h = realloc(rs->held, ((size_t)rs->nheld + 1) * sizeof(*h));
			if (h)
				rs->held = h;
			h = h ? &rs->held[rs->nheld] : NULL;
		}
		if (rs->hold_tcp && !h) {
			ret = -ENOMEM;
			snprintf(err, errlen, "out of memory");
		} else if (!(ret = tcp_conn_restore(fd, &t, &la, ll, &pa, pl, h, err, errlen)) && h) {
			rs->nheld++;
		}
	} else if (bound && (ret = connecting ? tcp_bind_forced(fd, &la, ll)
					     : bind(fd, (struct sockaddr *)&la, ll) < 0 ? -errno : 0)) {
		snprintf(err, errlen, "%s socket on %s: bind: %s%s", type == SOCK_STREAM ? "TCP" : "UDP", ls,
			 strerror(-ret), ret == -EADDRINUSE ? " (another program holds the address)" :
			 ret == -EPERM ? " (restoring TCP connections needs CAP_NET_ADMIN)" : "");
	} else if (listening && listen(fd, (int)backlog) < 0) {
		ret = -errno;
		snprintf(err, errlen, "listening on %s: %s", ls, strerror(errno));
	} else if (connecting && (ret = connect_nowait(fd, &pa, pl))) {
		char ps[80];
		snap_addr_text(&pa, ps, sizeof(ps));
		snprintf(err, errlen, "TCP socket on %s: connect to %s: %s", ls, ps, strerror(-ret));
	} else if (!conn && pl && type == SOCK_DGRAM && connect(fd, (struct sockaddr *)&pa, pl) < 0) {
		ret = -errno;
		snprintf(err, errlen, "UDP socket on %s: connect: %s", ls, strerror(errno));
	}
	free(t.lock);
	if (!ret && (flags & O_NONBLOCK))
		fcntl(fd, F_SETFL, O_NONBLOCK | O_RDWR);
	struct ofd *o = ret ? NULL : ofd_new(fd, flags, OFD_SOCKET, desc);
	if (ret) {
		close(fd);
		return ret;
	}
	if (!o)
		return -ENOMEM;
	struct sock *s = sock_of(o, true);
	if (!s) {
		ofd_put(o);
		return -ENOMEM;
	}
	s->backlog = (int)backlog;
	if (conn) {
		s->eof = t.eof;
		ret = sock_rq_add_bytes(o, t.inq, t.inq_len);
	} else if (type == SOCK_DGRAM) {
		ret = snap_sock_get_queue(r, o);
	} else if (listening) {
		/* Its connections not yet accepted: accept() hands them out. */
		uint32_t naq = sr_u32(r);
		if (naq > MAX_ACCEPT_QUEUE)
			sr_fail(r, "accept queue out of range");
		for (uint32_t i = 0; i < naq && !ret && !r->bad; i++) {
			struct ofd *c = NULL;
			if (sr_u32(r) != (uint32_t)fam || sr_u32(r) != SOCK_STREAM || sr_u32(r) != (uint32_t)proto)
				sr_fail(r, "accept queue entry is not a connection of the listener's kind");
			ret = r->bad ? -1 : get_inet(r, rs, fam, SOCK_STREAM, proto, O_RDWR, true, &c, "socket:[tcp]", err,
						     errlen);
			if (!ret && sock_aq_add(o, c)) {
				ofd_put(c);
				ret = -ENOMEM;
			}
		}
	}
	if (ret || r->bad) {
		ofd_put(o);
		return r->bad ? -1 : ret;
	}
	*out = o;
	return 0;
}

int snap_get_sock(struct sread *r, struct domain *d, struct snap_restore *rs, int flags, struct ofd **out,
		  const char *desc, char *err,
		  size_t errlen)
{
	int fam = (int)sr_u32(r), type = (int)sr_u32(r), proto = (int)sr_u32(r);
	if (fam == AF_UNIX && !r->bad)
		return snap_get_unix(r, d, rs, type, proto, flags, out, desc, err, errlen);
	return get_inet(r, rs, fam, type, proto, flags, false, out, desc, err, errlen);
}
