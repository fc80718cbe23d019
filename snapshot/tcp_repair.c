/* tcp_repair.c: TCP connections through TCP_REPAIR, like CRIU's soccr — freezing the domain's connections behind the network lock while an image is written, a connection's record (sequence numbers, window, options, both queues), and the connection rebuilt in repair mode on restore. */
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
#include "vmm/syscall.h"
#include "net/netlock.h"
#include "snap_state.h"
#include "tcp_repair.h"

#define SEND_WAIT_MS    5000            /* restore: room for the unsent bytes */

/* ---- freezing the domain's connections ---- */


int tcp_state(int fd)
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

bool tcp_sock(int fd)
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

void snap_sock_thaw(struct snap_freeze *fz, bool keep)
{
	char err[256];
	if (!keep) {
		for (int i = 0; i < fz->n; i++) {
			int off = TCP_REPAIR_OFF;
			setsockopt(fz->frozen[i]->hostfd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off));
		}
		if (fz->lock[0] && netlock_del(fz->lock, err, sizeof(err)))
			fprintf(stderr, "pdvm: releasing the network lock %s: %s\n", fz->lock, err);
	}
	/* Kept (a snapshot with --stop): the sockets close silently in repair
	 * mode, and the lock holds the peers off until the restore. */
	for (int i = 0; i < fz->n; i++)
		ofd_put(fz->frozen[i]);
	free(fz->frozen);
	fz->frozen = NULL;
	fz->n = 0;
	fz->lock[0] = '\0';
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

int snap_sock_freeze(struct domain *d, struct snap_freeze *fz, const char *id, char *err, size_t errlen)
{
	struct ofd **v;
	int n = snap_collect_ofds(d, &v), r = 0;
	if (n < 0)
		return n;
	/* The connections in listeners' queues are frozen like the others. */
	int total = n;
	for (int k = 0; k < n && !r; k++) {
		struct sock *s;
		if (v[k]->kind == OFD_SOCKET && tcp_sock(v[k]->hostfd) && tcp_state(v[k]->hostfd) == TCP_LISTEN &&
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
	fz->frozen = calloc((size_t)n + 1, sizeof(*fz->frozen));
	fz->n = 0;
	if (!c || !fz->frozen || !v) {
		r = r ? r : -ENOMEM;
		goto out;
	}
	for (int k = 0; k < n && !r; k++) {
		struct ofd *o = v[k];
		if (o->kind != OFD_SOCKET || !tcp_sock(o->hostfd))
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
		socklen_t l = sizeof(c[fz->n].local);
		getsockname(o->hostfd, (struct sockaddr *)&c[fz->n].local, &l);
		l = sizeof(c[fz->n].peer);
		getpeername(o->hostfd, (struct sockaddr *)&c[fz->n].peer, &l);
		fz->frozen[fz->n++] = ofd_get(o);
	}
	uint64_t t0 = host_mono_ns();
	/* Repair mode first (its EPERM names the missing privilege), then the
	 * lock; what arrives in between is queued and read after both. */
	for (int i = 0; i < fz->n && !r; i++) {
		int on = TCP_REPAIR_ON;
		if (setsockopt(fz->frozen[i]->hostfd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) < 0) {
			r = -errno;
			snprintf(err, errlen, "TCP_REPAIR on %s: %s%s", fz->frozen[i]->path, strerror(errno),
				 errno == EPERM ? " (checkpointing TCP connections needs CAP_NET_ADMIN)" : "");
		}
	}
	if (!r && fz->n) {
		snprintf(fz->lock, sizeof(fz->lock), "lock-%.16s", id);
		r = netlock_add(fz->lock, c, fz->n, err, errlen);
		if (r) {
			fz->lock[0] = '\0';
			char m[256];
			snprintf(m, sizeof(m), "%s", err);
			snprintf(err, errlen, "freezing %d TCP connection%s: %s", fz->n, fz->n > 1 ? "s" : "", m);
		}
	}
	if (!r && fz->n)
		dom_log(d, "froze %d TCP connection%s behind nft chain inet pdvm %s in %.1f ms", fz->n,
			fz->n > 1 ? "s" : "", fz->lock, (double)(host_mono_ns() - t0) / 1e6);
out:
	if (r)
		snap_sock_thaw(fz, false);
	free(c);
	free(v);
	return r;
}

bool tcp_frozen(const struct snap_freeze *fz, struct ofd *o)
{
	for (int i = 0; fz && i < fz->n; i++)
		if (fz->frozen[i] == o)
			return true;
	return false;
}

/* ---- a connection's record ---- */

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

int tcp_conn_put(struct domain *d, const struct snap_freeze *fz, struct ofd *o, struct sbuf *b,
		 const struct sock *s)
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
	sb_str(b, fz->lock);
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

int snap_sopt(int fd, int level, int opt, int v)
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

void snap_addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
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

void tcp_conn_get(struct sread *r, struct tcp_rec *t)
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
	t->outq = sr_bytes(r, SOCK_DATA_MAX, &t->outq_len);
	t->inq = sr_bytes(r, SOCK_DATA_MAX, &t->inq_len);
	t->eof = sr_u8(r);
	if (t->unsent > t->outq_len || !tcp_savable((int)t->state) ||
	    t->snd_ws > 14 || t->rcv_ws > 14 || t->mss > 65535)
		sr_fail(r, "TCP connection record out of range");
}

/* The connection as a new socket in repair mode: sequence numbers, the
 * peer's address without a handshake, options, window, the send queue
 * (what was sent goes back as sent, the rest is sent normally). */
int tcp_conn_restore(int fd, struct tcp_rec *t, const struct sockaddr_storage *la, socklen_t ll,
		     const struct sockaddr_storage *pa, socklen_t pl, struct tcp_held *hold, char *err,
		     size_t errlen)
{
	char ls[80], ps[80];
	snap_addr_text(la, ls, sizeof(ls));
	snap_addr_text(pa, ps, sizeof(ps));
	int q, r;
	if ((r = snap_sopt(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON))) {
		snprintf(err, errlen, "TCP_REPAIR for %s -> %s: %s%s", ls, ps, strerror(-r),
			 r == -EPERM ? " (restoring TCP connections needs CAP_NET_ADMIN)" : "");
		return r;
	}
	if ((r = snap_sopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)) ||
	    (r = snap_sopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, (int)t->rcv_seq)) ||
	    (r = snap_sopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)) ||
	    (r = snap_sopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, (int)(t->snd_seq - t->outq_len)))) {
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
	    ((t->opts & TCPI_OPT_TIMESTAMPS) && snap_sopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, (int)t->ts))) {
		r = -errno;
		snprintf(err, errlen, "TCP options of %s -> %s: %s", ls, ps, strerror(errno));
		return r;
	}
	/* The queue must fit the send buffer at once. */
	if (t->outq_len > 16384)
		snap_sopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, (int)MAX(t->sndbuf / 2, t->outq_len + 65536));
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
	struct tcp_held h = { .fd = fd, .unsent_len = t->unsent, .fin = tcp_fin_sent((int)t->state) };
	snprintf(h.what, sizeof(h.what), "%s -> %s", ls, ps);
	if (!hold) {
		h.unsent = (uint8_t *)t->outq + t->outq_len - t->unsent;
		r = tcp_held_go(&h, err, errlen);
		return r;
	}
	h.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	h.unsent = t->unsent ? malloc(t->unsent) : NULL;
	if (h.fd < 0 || (t->unsent && !h.unsent)) {
		r = h.fd < 0 ? -errno : -ENOMEM;
		snprintf(err, errlen, "TCP connection %s -> %s: %s", ls, ps, strerror(-r));
		h.unsent = NULL;
		tcp_held_drop(&h);
		return r;
	}
	if (t->unsent)
		memcpy(h.unsent, t->outq + t->outq_len - t->unsent, t->unsent);
	*hold = h;
	return 0;
}

int tcp_held_go(struct tcp_held *h, char *err, size_t errlen)
{
	/* Leaving repair mode sends a window probe: the peer learns at once
	 * that the connection is there again. */
	int r = snap_sopt(h->fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF);
	if (!r)
		r = send_all(h->fd, h->unsent, h->unsent_len, 0, true);
	if (r)
		snprintf(err, errlen, "TCP connection %s: %s", h->what, strerror(-r));
	/* The guest had shut down its sending half: the FIN goes out again
	 * with its old sequence number, behind the data. A peer that had it
	 * acknowledges the duplicate, and writes get EPIPE as before. */
	else if (h->fin && shutdown(h->fd, SHUT_WR) < 0) {
		r = -errno;
		snprintf(err, errlen, "TCP connection %s: shutdown: %s", h->what, strerror(errno));
	}
	return r;
}

void tcp_held_drop(struct tcp_held *h)
{
	if (h->fd >= 0)
		close(h->fd);
	free(h->unsent);
	h->fd = -1;
	h->unsent = NULL;
}

void tcp_held_free(struct tcp_held **v, int *n)
{
	for (int i = 0; i < *n; i++)
		tcp_held_drop(&(*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

/* The old local address of a connect in its handshake. connect() had
 * picked that port while another socket may hold it towards another peer
 * (a port is shared between distinct 4-tuples), which a plain bind()
 * refuses: repair mode forces the reuse, as for restored connections. */
int tcp_bind_forced(int fd, const struct sockaddr_storage *la, socklen_t ll)
{
	int r = snap_sopt(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON);
	if (!r && bind(fd, (const struct sockaddr *)la, ll) < 0)
		r = -errno;
	int off = snap_sopt(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF);
	return r ? r : off;
}

void tcp_note_lock(struct snap_restore *rs, const char *name)
{
	for (int i = 0; i < rs->nlocks; i++)
		if (!strcmp(rs->locks[i], name))
			return;
	if (rs->nlocks < SNAP_MAX_LOCKS)
		rs->locks[rs->nlocks++] = strdup(name);
}

void snap_sock_restore_done(struct domain *d, struct snap_restore *rs)
{
	char err[256];
	for (int i = 0; i < rs->nlocks; i++) {
		uint64_t t0 = host_mono_ns();
		/* A namespace made for this restore holds no lock: no nft run. */
		if (!rs->fresh_net && rs->locks[i]) {
			if (netlock_del(rs->locks[i], err, sizeof(err)))
				dom_log(d, "releasing network lock %s: %s", rs->locks[i], err);
			else
				dom_log(d, "released network lock %s in %.1f ms", rs->locks[i],
					(double)(host_mono_ns() - t0) / 1e6);
		}
		free(rs->locks[i]);
	}
	rs->nlocks = 0;
}

