/* snap_sock.c: sockets in an image — TCP connections through TCP_REPAIR (frozen behind a network lock while the image is taken), listening and bound sockets, queued datagrams, and the restart queue a restore fills. */
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
#include "net/netlock.h"
#include "vmm/sock.h"
#include "snap_sock.h"
#include "snap_state.h"
#include "vmm/syscall.h"

#define SOCK_DATA_MAX   (64u << 20)     /* per queue, in an image */
#define MAX_DGRAMS      65536
#define MAX_ACCEPT_QUEUE 65536
#define SEND_WAIT_MS    5000            /* restore: room for the unsent bytes */

/* The options a socket record carries: plain values set before bind. */
static const struct { int level, opt; } sock_opts[] = {
	{ SOL_SOCKET, SO_REUSEADDR }, { SOL_SOCKET, SO_REUSEPORT }, { SOL_SOCKET, SO_KEEPALIVE },
	{ SOL_SOCKET, SO_BROADCAST }, { IPPROTO_TCP, TCP_NODELAY }, { IPPROTO_IPV6, IPV6_V6ONLY },
};
#define NOPTS ((int)(sizeof(sock_opts) / sizeof(sock_opts[0])))

/* ---- freezing the domain's connections ---- */

static struct ofd **frozen;     /* TCP sockets in repair mode */
static int nfrozen;
static char lock_name[64];

static int tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
		return -errno;
	return ti.tcpi_state;
}

int snap_gopt(int fd, int level, int opt)
{
	int v = 0;
	socklen_t l = sizeof(v);
	return getsockopt(fd, level, opt, &v, &l) < 0 ? 0 : v;
}

static bool is_tcp(int fd)
{
	int fam = snap_gopt(fd, SOL_SOCKET, SO_DOMAIN);
	return (fam == AF_INET || fam == AF_INET6) && snap_gopt(fd, SOL_SOCKET, SO_TYPE) == SOCK_STREAM &&
	       snap_gopt(fd, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_TCP;
}

static const char *state_name(int st)
{
	static const char *const n[] = { "?", "established", "syn-sent", "syn-received", "fin-wait-1",
		"fin-wait-2", "time-wait", "closed", "close-wait", "last-ack", "listening", "closing" };
	return st >= 0 && st < (int)(sizeof(n) / sizeof(n[0])) ? n[st] : "?";
}

/* What a TCP socket record holds past its options. */
enum { CONN_NONE, CONN_TCP, CONN_CONNECTING };

/* The states a connection is saved in. Past ESTABLISHED, either side may
 * have shut down its sending half; the FIN carries no data but one
 * sequence number (CRIU's soccr reasons the same way). */
static bool tcp_savable(int st)
{
	return st == TCP_ESTABLISHED || st == TCP_CLOSE_WAIT || st == TCP_FIN_WAIT1 || st == TCP_FIN_WAIT2 ||
	       st == TCP_CLOSING || st == TCP_LAST_ACK;
}

/* Our FIN is queued or sent: the guest shut down its sending half. */
static bool tcp_fin_sent(int st)
{
	return st == TCP_FIN_WAIT1 || st == TCP_FIN_WAIT2 || st == TCP_CLOSING || st == TCP_LAST_ACK;
}

/* The peer's FIN has arrived: reads end at EOF once the queue is read. */
static bool tcp_fin_received(int st)
{
	return st == TCP_CLOSE_WAIT || st == TCP_CLOSING || st == TCP_LAST_ACK;
}

void snap_sock_thaw(bool keep)
{
	char err[256];
	if (!keep) {
		for (int i = 0; i < nfrozen; i++) {
			int off = TCP_REPAIR_OFF;
			setsockopt(frozen[i]->hostfd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off));
		}
		if (lock_name[0] && netlock_del(lock_name, err, sizeof(err)))
			fprintf(stderr, "pdvm: releasing the network lock %s: %s\n", lock_name, err);
	}
	/* Kept (a snapshot with --stop): the sockets close silently in repair
	 * mode, and the lock holds the peers off until the restore. */
	for (int i = 0; i < nfrozen; i++)
		ofd_put(frozen[i]);
	free(frozen);
	frozen = NULL;
	nfrozen = 0;
	lock_name[0] = '\0';
}

/*
 * Moves the connections waiting in a TCP listener's host accept queue into
 * its own queue (vmm/sock.c), where the image can see them and accept()
 * finds them: a connection the domain had not accepted yet survives a
 * restore instead of being reset with the old listener.
 */
static int take_accept_queue(struct domain *d, struct ofd *l)
{
	int fl = fcntl(l->hostfd, F_GETFL), taken = 0, r = 0;
	fcntl(l->hostfd, F_SETFL, fl | O_NONBLOCK);
	for (;;) {
		int h = accept4(l->hostfd, NULL, NULL, SOCK_CLOEXEC);
		if (h < 0)
			break;
		struct ofd *c = ofd_new(h, O_RDWR, OFD_SOCKET, "socket:[tcp]");
		if (!c || sock_aq_add(l, c)) {
			if (c)
				ofd_put(c);
			r = -ENOMEM;
			break;
		}
		taken++;
	}
	fcntl(l->hostfd, F_SETFL, fl);
	if (taken) {
		snap_epoll_rewatch(d, l);
		dom_log(d, "%s: took %d connection%s not yet accepted", l->path, taken, taken > 1 ? "s" : "");
	}
	return r;
}

int snap_sock_freeze(struct domain *d, const char *id, char *err, size_t errlen)
{
	struct ofd **v;
	int n = snap_collect_ofds(d, &v), r = 0;
	if (n < 0)
		return n;
	/* The connections in listeners' queues are frozen like the others. */
	int total = n;
	for (int k = 0; k < n && !r; k++) {
		struct sock *s;
		if (v[k]->kind == OFD_SOCKET && is_tcp(v[k]->hostfd) && tcp_state(v[k]->hostfd) == TCP_LISTEN &&
		    (r = take_accept_queue(d, v[k])) == 0 && (s = sock_of(v[k], false)))
			total += s->naq;
	}
	struct ofd **all = r ? NULL : calloc((size_t)total + 1, sizeof(*all));
	for (int k = 0, m = n; all && k < n; k++) {
		all[k] = v[k];
		struct sock *s = v[k]->kind == OFD_SOCKET ? sock_of(v[k], false) : NULL;
		for (int i = 0; s && i < s->naq && m < total; i++)
			all[m++] = s->aq[i];
	}
	free(v);
	v = all;
	n = total;
	struct netlock_conn *c = calloc((size_t)n + 1, sizeof(*c));
	frozen = calloc((size_t)n + 1, sizeof(*frozen));
	nfrozen = 0;
	if (!c || !frozen || !v) {
		r = r ? r : -ENOMEM;
		goto out;
	}
	for (int k = 0; k < n && !r; k++) {
		struct ofd *o = v[k];
		if (o->kind != OFD_SOCKET || !is_tcp(o->hostfd))
			continue;
		int st = tcp_state(o->hostfd);
		if (st == TCP_LISTEN || st == TCP_CLOSE || st == TCP_SYN_SENT)
			continue; /* nothing in flight to freeze; a connect is saved as one */
		if (!tcp_savable(st)) {
			snprintf(err, errlen, "%s: a TCP connection in state %s cannot be checkpointed; try again",
				 o->path, state_name(st));
			r = -EAGAIN;
			break;
		}
		socklen_t l = sizeof(c[nfrozen].local);
		getsockname(o->hostfd, (struct sockaddr *)&c[nfrozen].local, &l);
		l = sizeof(c[nfrozen].peer);
		getpeername(o->hostfd, (struct sockaddr *)&c[nfrozen].peer, &l);
		frozen[nfrozen++] = ofd_get(o);
	}
	uint64_t t0 = host_mono_ns();
	/* Repair mode first (its EPERM names the missing privilege), then the
	 * lock; what arrives in between is queued and read after both. */
	for (int i = 0; i < nfrozen && !r; i++) {
		int on = TCP_REPAIR_ON;
		if (setsockopt(frozen[i]->hostfd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) < 0) {
			r = -errno;
			snprintf(err, errlen, "TCP_REPAIR on %s: %s%s", frozen[i]->path, strerror(errno),
				 errno == EPERM ? " (checkpointing TCP connections needs CAP_NET_ADMIN)" : "");
		}
	}
	if (!r && nfrozen) {
		snprintf(lock_name, sizeof(lock_name), "lock-%.16s", id);
		r = netlock_add(lock_name, c, nfrozen, err, errlen);
		if (r) {
			lock_name[0] = '\0';
			char m[256];
			snprintf(m, sizeof(m), "%s", err);
			snprintf(err, errlen, "freezing %d TCP connection%s: %s", nfrozen, nfrozen > 1 ? "s" : "", m);
		}
	}
	if (!r && nfrozen)
		dom_log(d, "froze %d TCP connection%s behind nft chain inet pdvm %s in %.1f ms", nfrozen,
			nfrozen > 1 ? "s" : "", lock_name, (double)(host_mono_ns() - t0) / 1e6);
out:
	if (r)
		snap_sock_thaw(false);
	free(c);
	free(v);
	return r;
}

static bool is_frozen(struct ofd *o)
{
	for (int i = 0; i < nfrozen; i++)
		if (frozen[i] == o)
			return true;
	return false;
}

/* ---- writing ---- */

static void put_addr(struct sbuf *b, const struct sockaddr_storage *ss, socklen_t sl)
{
	sb_u32(b, sl);
	sb_put(b, ss, sl);
}

/* Peeks `len` bytes of the selected repair queue. */
static int peek_queue(int fd, int q, uint32_t len, struct sbuf *b, const struct sock *s)
{
	size_t pre = s && q == TCP_RECV_QUEUE ? s->rlen - s->roff : 0;
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) < 0)
		return -errno;
	if ((uint64_t)len + pre > SOCK_DATA_MAX)
		return -EFBIG;
	char *buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	ssize_t n = len ? recv(fd, buf, len, MSG_PEEK | MSG_DONTWAIT) : 0;
	if (n != (ssize_t)len) {
		free(buf);
		return n < 0 ? -errno : -EIO;
	}
	/* The receive side goes out behind what a restore had queued and the
	 * guest has not read yet: together, the bytes it reads next. */
	sb_u32(b, (uint32_t)(pre + len));
	if (pre)
		sb_put(b, s->rbuf + s->roff, pre);
	sb_put(b, buf, len);
	free(buf);
	return 0;
}

static int put_tcp_conn(struct domain *d, struct ofd *o, struct sbuf *b, const struct sock *s)
{
	int fd = o->hostfd, r;
	struct tcp_info ti;
	socklen_t l = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
		return -errno;
	uint32_t snd_seq = 0, rcv_seq = 0;
	int q = TCP_SEND_QUEUE, outq = 0, unsent = 0;
	l = sizeof(snd_seq);
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) < 0 ||
	    getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &snd_seq, &l) < 0 ||
	    ioctl(fd, SIOCOUTQ, &outq) < 0 || ioctl(fd, SIOCOUTQNSD, &unsent) < 0)
		return -errno;
	q = TCP_RECV_QUEUE;
	int inq = 0;
	l = sizeof(rcv_seq);
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) < 0 ||
	    getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &rcv_seq, &l) < 0 || ioctl(fd, SIOCINQ, &inq) < 0)
		return -errno;
	/* Our FIN, queued or unacknowledged, counts in the send queue's length
	 * and sequence but is no byte of it: the restore sends it again with
	 * shutdown() behind the data. */
	if (tcp_fin_sent(ti.tcpi_state)) {
		snd_seq--;
		outq -= outq > 0;
		unsent -= unsent > 0;
	}
	struct tcp_repair_window w;
	l = sizeof(w);
	if (getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &l) < 0)
		return -errno;
	uint32_t ts = 0;
	l = sizeof(ts);
	if ((ti.tcpi_options & TCPI_OPT_TIMESTAMPS) && getsockopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, &ts, &l) < 0)
		return -errno;
	sb_str(b, lock_name);
	sb_u32(b, ti.tcpi_state);
	sb_u32(b, snd_seq);
	sb_u32(b, rcv_seq);
	sb_u32(b, (uint32_t)snap_gopt(fd, IPPROTO_TCP, TCP_MAXSEG));
	sb_u32(b, ti.tcpi_options);
	sb_u32(b, ti.tcpi_snd_wscale);
	sb_u32(b, ti.tcpi_rcv_wscale);
	sb_u32(b, ts);
	sb_u32(b, w.snd_wl1);
	sb_u32(b, w.snd_wnd);
	sb_u32(b, w.max_window);
	sb_u32(b, w.rcv_wnd);
	sb_u32(b, w.rcv_wup);
	sb_u32(b, (uint32_t)snap_gopt(fd, SOL_SOCKET, SO_SNDBUF));
	sb_u32(b, (uint32_t)unsent);
	if ((r = peek_queue(fd, TCP_SEND_QUEUE, (uint32_t)outq, b, NULL)) ||
	    (r = peek_queue(fd, TCP_RECV_QUEUE, (uint32_t)inq, b, s)))
		return r;
	sb_u8(b, tcp_fin_received(ti.tcpi_state) || (s && s->eof));
	dom_log(d, "%s: TCP %s, %d bytes unacknowledged (%d of them unsent), %d unread", o->path,
		state_name(ti.tcpi_state), outq, unsent, inq + (int)(s ? s->rlen - s->roff : 0));
	q = TCP_NO_QUEUE;
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
	return 0;
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

int snap_put_sock(struct domain *d, struct ofd **v, int n, struct ofd *o, struct sbuf *b, char *err,
		  size_t errlen)
{
	int fd = o->hostfd;
	int fam = snap_gopt(fd, SOL_SOCKET, SO_DOMAIN), type = snap_gopt(fd, SOL_SOCKET, SO_TYPE);
	int proto = snap_gopt(fd, SOL_SOCKET, SO_PROTOCOL);
	struct sock *s = sock_of(o, false);
	if (fam == AF_UNIX)
		return snap_put_unix(d, v, n, o, b, err, errlen);
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
	bool conn = tcp && is_frozen(o);
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
		r = put_tcp_conn(d, o, b, s);
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
			r = snap_put_sock(d, v, n, s->aq[i], b, err, errlen);
	}
	return r;
}

/* ---- restoring ---- */

static char *unlocks[64];
static int nunlocks;

static void note_unlock(const char *name)
{
	for (int i = 0; i < nunlocks; i++)
		if (!strcmp(unlocks[i], name))
			return;
	if (nunlocks < (int)(sizeof(unlocks) / sizeof(unlocks[0])))
		unlocks[nunlocks++] = strdup(name);
}

void snap_sock_restore_done(struct domain *d)
{
	char err[256];
	for (int i = 0; i < nunlocks; i++) {
		uint64_t t0 = host_mono_ns();
		if (unlocks[i] && netlock_del(unlocks[i], err, sizeof(err)))
			dom_log(d, "releasing network lock %s: %s", unlocks[i], err);
		else if (unlocks[i])
			dom_log(d, "released network lock %s in %.1f ms", unlocks[i],
				(double)(host_mono_ns() - t0) / 1e6);
		free(unlocks[i]);
	}
	nunlocks = 0;
}

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

/* A length-prefixed byte run of the section, not copied. */
static const uint8_t *get_bytes(struct sread *r, uint32_t *len)
{
	*len = sr_u32(r);
	if (*len > SOCK_DATA_MAX || *len > r->len - r->pos)
		sr_fail(r, "socket data runs past the section");
	if (r->bad)
		return NULL;
	const uint8_t *p = r->p + r->pos;
	r->pos += *len;
	return p;
}

static int sopt(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v)) < 0 ? -errno : 0;
}

static int send_all(int fd, const uint8_t *p, uint32_t len, int flags, bool wait)
{
	uint32_t off = 0;
	while (off < len) {
		ssize_t n = send(fd, p + off, len - off, flags | MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += (uint32_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != ENOMEM)
			return -errno;
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		if (!wait || poll(&pf, 1, SEND_WAIT_MS) <= 0)
			return -ENOBUFS;
	}
	return 0;
}

static void addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char h[64] = "?";
	unsigned port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;
		inet_ntop(AF_INET, &s->sin_addr, h, sizeof(h));
		port = ntohs(s->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;
		inet_ntop(AF_INET6, &s->sin6_addr, h, sizeof(h));
		port = ntohs(s->sin6_port);
	}
	snprintf(buf, len, "%s:%u", h, port);
}

struct tcp_rec {
	char *lock;
	uint32_t state, snd_seq, rcv_seq, mss, opts, snd_ws, rcv_ws, ts;
	struct tcp_repair_window w;
	uint32_t sndbuf, unsent, outq_len, inq_len;
	const uint8_t *outq, *inq;
	bool eof;
};

static void get_tcp_rec(struct sread *r, struct tcp_rec *t)
{
	t->lock = sr_str(r, 63);
	t->state = sr_u32(r);
	t->snd_seq = sr_u32(r);
	t->rcv_seq = sr_u32(r);
	t->mss = sr_u32(r);
	t->opts = sr_u32(r);
	t->snd_ws = sr_u32(r);
	t->rcv_ws = sr_u32(r);
	t->ts = sr_u32(r);
	t->w.snd_wl1 = sr_u32(r);
	t->w.snd_wnd = sr_u32(r);
	t->w.max_window = sr_u32(r);
	t->w.rcv_wnd = sr_u32(r);
	t->w.rcv_wup = sr_u32(r);
	t->sndbuf = sr_u32(r);
	t->unsent = sr_u32(r);
	t->outq = get_bytes(r, &t->outq_len);
	t->inq = get_bytes(r, &t->inq_len);
	t->eof = sr_u8(r);
	if (t->unsent > t->outq_len || !tcp_savable((int)t->state) ||
	    t->snd_ws > 14 || t->rcv_ws > 14 || t->mss > 65535)
		sr_fail(r, "TCP connection record out of range");
}

/* The connection as a new socket in repair mode: sequence numbers, the
 * peer's address without a handshake, options, window, the send queue
 * (what was sent goes back as sent, the rest is sent normally). */
static int restore_conn(int fd, struct tcp_rec *t, const struct sockaddr_storage *la, socklen_t ll,
			const struct sockaddr_storage *pa, socklen_t pl, char *err, size_t errlen)
{
	char ls[80], ps[80];
	addr_text(la, ls, sizeof(ls));
	addr_text(pa, ps, sizeof(ps));
	int q, r;
	if ((r = sopt(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON))) {
		snprintf(err, errlen, "TCP_REPAIR for %s -> %s: %s%s", ls, ps, strerror(-r),
			 r == -EPERM ? " (restoring TCP connections needs CAP_NET_ADMIN)" : "");
		return r;
	}
	if ((r = sopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)) ||
	    (r = sopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, (int)t->rcv_seq)) ||
	    (r = sopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)) ||
	    (r = sopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, (int)(t->snd_seq - t->outq_len)))) {
		snprintf(err, errlen, "sequence numbers of %s -> %s: %s", ls, ps, strerror(-r));
		return r;
	}
	if (bind(fd, (const struct sockaddr *)la, ll) < 0) {
		r = -errno;
		snprintf(err, errlen, "TCP connection %s -> %s: bind: %s", ls, ps, strerror(errno));
		return r;
	}
	if (connect(fd, (const struct sockaddr *)pa, pl) < 0) {
		r = -errno;
		snprintf(err, errlen, "TCP connection %s -> %s: %s%s", ls, ps, strerror(errno),
			 errno == EADDRNOTAVAIL || errno == EADDRINUSE ?
			 " (the connection is still open on this host: is the original domain running?)" : "");
		return r;
	}
	struct tcp_repair_opt o[4];
	int no = 0;
	o[no++] = (struct tcp_repair_opt){ TCPOPT_MAXSEG, t->mss };
	if (t->opts & TCPI_OPT_WSCALE)
		o[no++] = (struct tcp_repair_opt){ TCPOPT_WINDOW, t->snd_ws | (t->rcv_ws << 16) };
	if (t->opts & TCPI_OPT_SACK)
		o[no++] = (struct tcp_repair_opt){ TCPOPT_SACK_PERMITTED, 0 };
	if (t->opts & TCPI_OPT_TIMESTAMPS)
		o[no++] = (struct tcp_repair_opt){ TCPOPT_TIMESTAMP, 0 };
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, o, (socklen_t)(no * sizeof(o[0]))) < 0 ||
	    ((t->opts & TCPI_OPT_TIMESTAMPS) && sopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, (int)t->ts))) {
		r = -errno;
		snprintf(err, errlen, "TCP options of %s -> %s: %s", ls, ps, strerror(errno));
		return r;
	}
	/* The queue must fit the send buffer at once. */
	if (t->outq_len > 16384)
		sopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, (int)MAX(t->sndbuf / 2, t->outq_len + 65536));
	q = TCP_SEND_QUEUE;
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
	if ((r = send_all(fd, t->outq, t->outq_len - t->unsent, 0, false))) {
		snprintf(err, errlen, "send queue of %s -> %s: %s", ls, ps, strerror(-r));
		return r;
	}
	q = TCP_NO_QUEUE;
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &t->w, sizeof(t->w)) < 0) {
		r = -errno;
		snprintf(err, errlen, "TCP window of %s -> %s: %s", ls, ps, strerror(errno));
		return r;
	}
	/* Leaving repair mode sends a window probe: the peer learns at once
	 * that the connection is there again. */
	if ((r = sopt(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF)) ||
	    (r = send_all(fd, t->outq + t->outq_len - t->unsent, t->unsent, 0, true))) {
		snprintf(err, errlen, "TCP connection %s -> %s: %s", ls, ps, strerror(-r));
		return r;
	}
	/* The guest had shut down its sending half: the FIN goes out again
	 * with its old sequence number, behind the data. A peer that had it
	 * acknowledges the duplicate, and writes get EPIPE as before. */
	if (tcp_fin_sent((int)t->state) && shutdown(fd, SHUT_WR) < 0) {
		r = -errno;
		snprintf(err, errlen, "TCP connection %s -> %s: shutdown: %s", ls, ps, strerror(errno));
		return r;
	}
	return 0;
}

/* The old local address of a connect in its handshake. connect() had
 * picked that port while another socket may hold it towards another peer
 * (a port is shared between distinct 4-tuples), which a plain bind()
 * refuses: repair mode forces the reuse, as for restored connections. */
static int bind_forced(int fd, const struct sockaddr_storage *la, socklen_t ll)
{
	int r = sopt(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON);
	if (!r && bind(fd, (const struct sockaddr *)la, ll) < 0)
		r = -errno;
	int off = sopt(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF);
	return r ? r : off;
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
	const uint8_t *p = get_bytes(r, &len);
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
		p = get_bytes(r, &len);
		if (!r->bad)
			ret = sock_rq_add_dgram(o, p, len, &ss, sl);
	}
	return r->bad ? -1 : ret;
}

/* An IPv4/IPv6 socket record after its family, type and protocol. An
 * accept-queue entry (`queued`) must be a connection. */
static int get_inet(struct sread *r, int fam, int type, int proto, int flags, bool queued, struct ofd **out,
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
		get_tcp_rec(r, &t);
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
			sopt(fd, sock_opts[i].level, sock_opts[i].opt, val[i]);
	bool bound = ll && ((fam == AF_INET && ((struct sockaddr_in *)&la)->sin_port) ||
			    (fam == AF_INET6 && ((struct sockaddr_in6 *)&la)->sin6_port));
	char ls[80];
	addr_text(&la, ls, sizeof(ls));
	if (conn) {
		if (t.lock && t.lock[0])
			note_unlock(t.lock);
		ret = restore_conn(fd, &t, &la, ll, &pa, pl, err, errlen);
	} else if (bound && (ret = connecting ? bind_forced(fd, &la, ll)
					     : bind(fd, (struct sockaddr *)&la, ll) < 0 ? -errno : 0)) {
		snprintf(err, errlen, "%s socket on %s: bind: %s%s", type == SOCK_STREAM ? "TCP" : "UDP", ls,
			 strerror(-ret), ret == -EADDRINUSE ? " (another program holds the address)" :
			 ret == -EPERM ? " (restoring TCP connections needs CAP_NET_ADMIN)" : "");
	} else if (listening && listen(fd, (int)backlog) < 0) {
		ret = -errno;
		snprintf(err, errlen, "listening on %s: %s", ls, strerror(errno));
	} else if (connecting && (ret = connect_nowait(fd, &pa, pl))) {
		char ps[80];
		addr_text(&pa, ps, sizeof(ps));
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
			ret = r->bad ? -1 : get_inet(r, fam, SOCK_STREAM, proto, O_RDWR, true, &c, "socket:[tcp]", err,
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

int snap_get_sock(struct sread *r, struct domain *d, int flags, struct ofd **out, const char *desc, char *err,
		  size_t errlen)
{
	int fam = (int)sr_u32(r), type = (int)sr_u32(r), proto = (int)sr_u32(r);
	if (fam == AF_UNIX && !r->bad)
		return snap_get_unix(r, d, type, proto, flags, out, desc, err, errlen);
	return get_inet(r, fam, type, proto, flags, false, out, desc, err, errlen);
}
