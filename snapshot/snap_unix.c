/* snap_unix.c: UNIX sockets in an image — connected pairs found by inode (sock_diag), listeners and bound sockets bound again at their guest path, connections not yet accepted connected again. */
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/domain.h"
#include "vmm/files.h"
#include "snap_sock.h"
#include "vmm/sock.h"

/* What a UNIX socket record is. */
enum {
	U_PAIR = 1,     /* connected to a socket of the domain (or to one closed) */
	U_LISTEN,       /* listening on its name */
	U_LONE,         /* neither: maybe bound, a datagram one maybe connected by name */
	U_PENDING,      /* connected, but still in a listener's accept queue */
};

#define MAX_ICONS 4096

/* ---- sock_diag ---- */

struct udiag {
	uint8_t state;          /* TCP_LISTEN, TCP_ESTABLISHED, TCP_CLOSE */
	uint32_t peer;          /* peer inode; 0 for none or a closed peer */
	uint32_t wqueue;        /* bytes sent and not yet read by the peer */
	uint32_t nicons;        /* a listener's not yet accepted connections */
	uint32_t icons[MAX_ICONS];
};

/* The kernel's view of UNIX socket inode `ino` (NETLINK_SOCK_DIAG). */
static int unix_diag(uint32_t ino, struct udiag *u)
{
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return -errno;
	struct {
		struct nlmsghdr h;
		struct unix_diag_req r;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST },
		.r = { .sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_ino = ino,
		       .udiag_show = UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN,
		       .udiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } },
	};
	static __thread char buf[32768];
	ssize_t n = -1;
	if (send(nl, &req, sizeof(req), 0) == (ssize_t)sizeof(req))
		n = recv(nl, buf, sizeof(buf), 0);
	int e = n < 0 ? -errno : 0;
	close(nl);
	if (e)
		return e;
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	if (!NLMSG_OK(h, (size_t)n))
		return -EIO;
	if (h->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *ne = NLMSG_DATA(h);
		return ne->error ? ne->error : -EIO;
	}
	struct unix_diag_msg *m = NLMSG_DATA(h);
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || m->udiag_ino != ino)
		return -EIO;
	memset(u, 0, offsetof(struct udiag, icons));
	u->state = m->udiag_state;
	int left = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	for (struct rtattr *a = (struct rtattr *)(m + 1); RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		size_t len = RTA_PAYLOAD(a);
		if (a->rta_type == UNIX_DIAG_PEER && len >= 4) {
			memcpy(&u->peer, RTA_DATA(a), 4);
		} else if (a->rta_type == UNIX_DIAG_RQLEN && len >= sizeof(struct unix_diag_rqlen)) {
			struct unix_diag_rqlen q;
			memcpy(&q, RTA_DATA(a), sizeof(q));
			u->wqueue = q.udiag_wqueue;
		} else if (a->rta_type == UNIX_DIAG_ICONS) {
			u->nicons = (uint32_t)(len / 4 < MAX_ICONS ? len / 4 : MAX_ICONS);
			memcpy(u->icons, RTA_DATA(a), u->nicons * 4);
		}
	}
	return 0;
}

static uint32_t ino_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? (uint32_t)st.st_ino : 0;
}

/* Whether socket inode `ino` is one of the domain's descriptions. */
static bool in_domain(struct ofd **v, int n, uint32_t ino)
{
	for (int k = 0; k < n; k++)
		if (v[k]->kind == OFD_SOCKET && ino_of(v[k]->hostfd) == ino)
			return true;
	return false;
}

/* Whether `ino` waits in the accept queue of one of the domain's listeners. */
static bool in_accept_queue(struct ofd **v, int n, uint32_t ino, struct udiag *scratch)
{
	for (int k = 0; k < n; k++) {
		if (v[k]->kind != OFD_SOCKET || unix_diag(ino_of(v[k]->hostfd), scratch) ||
		    scratch->state != TCP_LISTEN)
			continue;
		for (uint32_t i = 0; i < scratch->nicons; i++)
			if (scratch->icons[i] == ino)
				return true;
	}
	return false;
}

/* ---- writing ---- */

static void put_name(struct sbuf *b, const struct sock_uname *u)
{
	sb_u32(b, u ? (uint32_t)u->len : 0);
	if (u)
		sb_put(b, &u->sa, u->len);
	sb_str(b, u && u->path ? u->path : "");
}

int snap_put_unix(struct domain *d, struct ofd **v, int n, struct ofd *o, struct sbuf *b, char *err,
		  size_t errlen)
{
	static __thread struct udiag u, other;
	int fd = o->hostfd;
	int type = snap_gopt(fd, SOL_SOCKET, SO_TYPE), proto = snap_gopt(fd, SOL_SOCKET, SO_PROTOCOL);
	uint32_t ino = ino_of(fd);
	int r = unix_diag(ino, &u);
	if (r) {
		snprintf(err, errlen, "%s: asking the kernel about a UNIX socket (sock_diag): %s", o->path,
			 strerror(-r));
		return r;
	}
	struct sock *s = sock_of(o, false);
	bool stream = type != SOCK_DGRAM;
	int role = U_LONE;
	uint64_t id = 0;
	uint32_t end = 0;
	if (u.state == TCP_LISTEN) {
		role = U_LISTEN;
	} else if (u.peer && in_domain(v, n, u.peer) &&
		   (stream || (unix_diag(u.peer, &other) == 0 && other.peer == ino))) {
		role = U_PAIR;
		id = ino < u.peer ? ino : u.peer;
		end = ino != id;
	} else if (stream && u.state == TCP_ESTABLISHED && in_accept_queue(v, n, ino, &other)) {
		/* Its peer is a socket the listener has not handed out yet
		 * (the kernel shows no inode for it). */
		if (u.wqueue) {
			/* Its bytes sit in a socket no description holds yet. */
			snprintf(err, errlen, "%s: a connection not yet accepted holds %u unread bytes; try again",
				 o->path, u.wqueue);
			return -EAGAIN;
		}
		role = U_PENDING;
	} else if (u.peer && stream) {
		snprintf(err, errlen, "%s: connected to a UNIX socket outside the domain (%s)", o->path,
			 s && s->peer && s->peer->path ? s->peer->path : "unnamed");
		return -EOPNOTSUPP;
	} else if (stream && u.state == TCP_ESTABLISHED) {
		role = U_PAIR; /* the peer is closed: its end stays closed */
		id = ino;
	} else if (u.peer && !(s && s->peer)) {
		snprintf(err, errlen, "%s: a datagram socket connected to an unnamed socket outside the domain",
			 o->path);
		return -EOPNOTSUPP;
	}
	if (role == U_LISTEN && u.nicons)
		dom_log(d, "%s: %u connection%s not yet accepted from outside the domain will be refused", o->path,
			u.nicons, u.nicons > 1 ? "s" : "");
	sb_u32(b, AF_UNIX);
	sb_u32(b, (uint32_t)type);
	sb_u32(b, (uint32_t)proto);
	sb_u8(b, (uint8_t)role);
	sb_u64(b, id);
	sb_u32(b, end);
	sb_u32(b, (uint32_t)(s && s->backlog > 0 ? s->backlog : SOMAXCONN));
	put_name(b, s ? s->local : NULL);
	put_name(b, s ? s->peer : NULL);
	if (role == U_LISTEN)
		return 0;
	r = snap_sock_put_queue(d, o, b, type == SOCK_STREAM);
	if (r)
		snprintf(err, errlen, "%s: saving socket state: %s", o->path, strerror(-r));
	return r;
}

/* ---- restoring ---- */

/* In the restore's snap_restore: connected pairs being restored (made
 * with the first end, the other waits there for its record, or is closed at
 * the end: it had been closed), and connections made once every socket
 * exists (a listener may come later). */

static struct sock_uname *get_name(struct sread *r)
{
	uint32_t len = sr_u32(r);
	if (len > sizeof(struct sockaddr_un) || (len && len < sizeof(sa_family_t)))
		sr_fail(r, "UNIX socket name out of range");
	struct sock_uname u = { .len = (socklen_t)len };
	if (len)
		sr_get(r, &u.sa, len);
	char *path = sr_str(r, PATH_MAX * 2);
	if (r->bad || !len || (len && u.sa.sun_family != AF_UNIX)) {
		if (!r->bad && len)
			sr_fail(r, "UNIX socket name out of range");
		free(path);
		return NULL;
	}
	u.path = path && path[0] ? path : NULL;
	struct sock_uname *c = sock_uname_dup(&u);
	free(path);
	return c;
}

/* The host address of a kept name: its absolute guest path, resolved in
 * the root as a bind or connect of the guest would be. */
static int name_host(struct domain *d, const struct sock_uname *u, bool bind, struct sockaddr_storage *ss,
		     socklen_t *sl, int *dirfd)
{
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &u->sa, u->len);
	*sl = u->len;
	if (u->path) {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;
		size_t l = strlen(u->path);
		if (l >= sizeof(un->sun_path))
			return -ENAMETOOLONG;
		memset(un->sun_path, 0, sizeof(un->sun_path));
		memcpy(un->sun_path, u->path, l);
		*sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + l + 1);
	}
	return sock_addr_host(d, ss, sl, bind, dirfd, NULL);
}

/* Binds fd to its kept name. A socket file nobody listens on (left by the
 * domain this image came from) is removed first, as a restarted server
 * would do; one somebody answers on is an address in use. */
static int bind_name(struct domain *d, int fd, const struct sock_uname *u, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int dirfd;
	/* The name goes into the guest's tree with the guest's identity. */
	int r = cred_enter(&d->cred);
	if (r) {
		snprintf(err, errlen, "UNIX socket %s: %s", u->path ? u->path : "(abstract)", strerror(-r));
		return r;
	}
	r = name_host(d, u, true, &ss, &sl, &dirfd);
	if (!r && bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		r = -errno;
		int probe = r == -EADDRINUSE && dirfd >= 0 ? socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
		if (probe >= 0) {
			struct sockaddr_un *un = (struct sockaddr_un *)&ss;
			if (connect(probe, (struct sockaddr *)&ss, sl) < 0 && errno == ECONNREFUSED &&
			    unlink(un->sun_path) == 0)
				r = bind(fd, (struct sockaddr *)&ss, sl) < 0 ? -errno : 0;
			close(probe);
		}
	}
	if (dirfd >= 0)
		close(dirfd);
	cred_leave(&d->cred);
	if (r)
		snprintf(err, errlen, "UNIX socket %s: bind: %s%s", u->path ? u->path : "(abstract)", strerror(-r),
			 r == -EADDRINUSE ? " (another program holds the address)" : "");
	return r;
}

int snap_get_unix(struct sread *r, struct domain *d, struct snap_restore *rs, int type, int proto, int flags,
		  struct ofd **out,
		  const char *desc, char *err, size_t errlen)
{
	int role = sr_u8(r);
	uint64_t id = sr_u64(r);
	uint32_t end = sr_u32(r), backlog = sr_u32(r);
	struct sock_uname *local = get_name(r), *peer = get_name(r);
	if (role < U_PAIR || role > U_PENDING || end > 1 || backlog > (1u << 20) ||
	    (role == U_PAIR && !id) || (role == U_PENDING && !peer) ||
	    (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET))
		sr_fail(r, "UNIX socket record out of range");
	int fd = -1, ret = 0;
	if (r->bad) {
		ret = -1;
		goto fail;
	}
	if (role == U_PAIR) {
		int k = 0;
		while (k < rs->nupairs && rs->upairs[k].id != id)
			k++;
		if (k == rs->nupairs) {
			int sv[2];
			if (k == SNAP_MAX_UPAIRS) {
				ret = -ENFILE;
				goto fail;
			}
			if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, proto, sv) < 0) {
				ret = -errno;
				goto fail;
			}
			rs->upairs[k].id = id;
			rs->upairs[k].fd[0] = sv[0];
			rs->upairs[k].fd[1] = sv[1];
			rs->nupairs++;
		}
		fd = rs->upairs[k].fd[end];
		rs->upairs[k].fd[end] = -1;
		if (fd < 0) {
			sr_fail(r, "UNIX socket pair end repeated");
			ret = -1;
			goto fail;
		}
	} else {
		fd = socket(AF_UNIX, type | SOCK_CLOEXEC, proto);
		if (fd < 0) {
			ret = -errno;
			goto fail;
		}
		if (local && (role == U_LISTEN || role == U_LONE))
			ret = bind_name(d, fd, local, err, errlen);
		if (!ret && role == U_LISTEN && listen(fd, (int)backlog) < 0) {
			ret = -errno;
			snprintf(err, errlen, "UNIX socket %s: listen: %s", local && local->path ? local->path : "",
				 strerror(errno));
		}
		if (ret)
			goto fail;
	}
	if (flags & O_NONBLOCK)
		fcntl(fd, F_SETFL, O_NONBLOCK | O_RDWR);
	struct ofd *o = ofd_new(fd, flags, OFD_SOCKET, desc);
	struct sock *s = o ? sock_of(o, true) : NULL;
	if (!s) {
		if (o)
			ofd_put(o);
		else
			close(fd);
		sock_uname_free(local);
		sock_uname_free(peer);
		return -ENOMEM;
	}
	s->backlog = (int)backlog;
	s->local = local;
	s->peer = peer;
	if (role != U_LISTEN)
		ret = snap_sock_get_queue(r, o);
	if (!ret && ((role == U_LONE && peer) || role == U_PENDING)) {
		if (rs->nuconns == SNAP_MAX_UPAIRS) {
			ret = -ENFILE;
		} else {
			rs->uconns[rs->nuconns].o = ofd_get(o);
			rs->uconns[rs->nuconns++].pending = role == U_PENDING;
		}
	}
	if (ret) {
		ofd_put(o);
		return ret;
	}
	*out = o;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	sock_uname_free(local);
	sock_uname_free(peer);
	return ret;
}

int snap_unix_finish(struct domain *d, struct snap_restore *rs, bool ok, char *err, size_t errlen)
{
	int ret = 0;
	for (int i = 0; i < rs->nuconns; i++) {
		struct ofd *o = rs->uconns[i].o;
		struct sock_uname *u = sock_of(o, false)->peer;
		struct sockaddr_storage ss;
		socklen_t sl;
		int dirfd = -1, r = ok && !ret ? cred_enter(&d->cred) : 0;
		bool as_guest = ok && !ret && !r;
		if (as_guest)
			r = name_host(d, u, false, &ss, &sl, &dirfd);
		if (as_guest && !r) {
			/* Never wait here: a listener of the domain has room, or
			 * the restore fails. */
			int fl = fcntl(o->hostfd, F_GETFL);
			fcntl(o->hostfd, F_SETFL, fl | O_NONBLOCK);
			r = connect(o->hostfd, (struct sockaddr *)&ss, sl) < 0 ? -errno : 0;
			fcntl(o->hostfd, F_SETFL, fl);
		}
		if (as_guest)
			cred_leave(&d->cred);
		if (dirfd >= 0)
			close(dirfd);
		if (r && !rs->uconns[i].pending) {
			/* A datagram socket's peer may be gone for good: sends
			 * then fail as they would have. */
			dom_log(d, "UNIX socket connected to %s: not connected again: %s",
				u->path ? u->path : "(abstract)", strerror(-r));
		} else if (r && !ret) {
			ret = r;
			snprintf(err, errlen, "connecting a UNIX socket to %s again: %s",
				 u->path ? u->path : "(abstract)", strerror(-r));
		}
		ofd_put(o);
		rs->uconns[i].o = NULL;
	}
	snap_unix_release(rs);
	return ret;
}

void snap_unix_release(struct snap_restore *rs)
{
	for (int i = 0; i < rs->nuconns; i++)
		if (rs->uconns[i].o)
			ofd_put(rs->uconns[i].o);
	rs->nuconns = 0;
	for (int k = 0; k < rs->nupairs; k++)
		for (int e = 0; e < 2; e++)
			if (rs->upairs[k].fd[e] >= 0)
				close(rs->upairs[k].fd[e]);
	rs->nupairs = 0;
}
