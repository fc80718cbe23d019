/* sock.c: the socket state beside each host socket — listen backlog, the restart queue served before the host socket, AF_UNIX peers and the guest pids of their credentials — and the wait and SIGPIPE every socket call shares. */
#include <dirent.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "domain.h"
#include "files.h"
#include "sock.h"
#include "syscall.h"
#include "wait.h"

static void sock_release(struct ofd *o)
{
	struct sock *s = o->priv;
	if (!s)
		return;
	free(s->rbuf);
	sock_uname_free(s->local);
	sock_uname_free(s->peer);
	if (s->pair && atomic_fetch_sub(&s->pair->refs, 1) == 1)
		free(s->pair);
	if (s->bound) {
		*s->bound->pprev = s->bound->next;
		if (s->bound->next)
			s->bound->next->pprev = s->bound->pprev;
		close(s->bound->dirfd);
		free(s->bound);
	}
	for (int i = 0; i < s->naq; i++)
		ofd_put(s->aq[i]);
	free(s->aq);
	while (s->dq) {
		struct sock_dgram *g = s->dq;
		s->dq = g->next;
		free(g);
	}
	free(s);
	o->priv = NULL;
}

struct sock *sock_of(struct ofd *o, bool create)
{
	if (!o || o->kind != OFD_SOCKET)
		return NULL;
	if (!o->priv && create) {
		o->priv = calloc(1, sizeof(struct sock));
		if (o->priv)
			o->release = sock_release;
	}
	return o->priv;
}

bool sock_rq_pending(struct ofd *o)
{
	struct sock *s = sock_of(o, false);
	return s && (s->roff < s->rlen || s->dq || s->eof || s->naq);
}

long sock_rq_read(struct ofd *o, void *buf, size_t len, int flags, struct sockaddr_storage *ss,
		  socklen_t *sl, int *oflags)
{
	struct sock *s = sock_of(o, false);
	if (!s)
		return -EAGAIN;
	bool peek = flags & MSG_PEEK;
	if (s->roff < s->rlen) {
		size_t n = s->rlen - s->roff < len ? s->rlen - s->roff : len;
		memcpy(buf, s->rbuf + s->roff, n);
		if (!peek)
			s->roff += n;
		if (s->roff == s->rlen) {
			free(s->rbuf);
			s->rbuf = NULL;
			s->rlen = s->roff = 0;
		}
		if (sl)
			*sl = 0;        /* a connected stream reports no address */
		return (long)n;
	}
	if (s->dq) {
		struct sock_dgram *g = s->dq;
		size_t n = g->len < len ? g->len : len;
		memcpy(buf, g->data, n);
		if (oflags && n < g->len)
			*oflags |= MSG_TRUNC;
		if (ss && sl) {
			memcpy(ss, &g->addr, sizeof(*ss));
			*sl = g->alen;
		}
		long r = (flags & MSG_TRUNC) ? (long)g->len : (long)n;
		if (!peek) {
			s->dq = g->next;
			free(g);
		}
		return r;
	}
	if (s->eof) {
		if (sl)
			*sl = 0;
		return 0;
	}
	return -EAGAIN;
}

int sock_rq_add_bytes(struct ofd *o, const void *p, size_t len)
{
	struct sock *s = sock_of(o, true);
	if (!s)
		return -ENOMEM;
	if (!len)
		return 0;
	uint8_t *nb = realloc(s->rbuf, s->rlen + len);
	if (!nb)
		return -ENOMEM;
	memcpy(nb + s->rlen, p, len);
	s->rbuf = nb;
	s->rlen += len;
	return 0;
}

int sock_rq_add_dgram(struct ofd *o, const void *p, size_t len, const struct sockaddr_storage *ss,
		      socklen_t sl)
{
	struct sock *s = sock_of(o, true);
	struct sock_dgram *g = s ? malloc(sizeof(*g) + len) : NULL;
	if (!g)
		return -ENOMEM;
	g->next = NULL;
	memset(&g->addr, 0, sizeof(g->addr));
	if (ss && sl <= sizeof(g->addr))
		memcpy(&g->addr, ss, sl);
	g->alen = ss ? sl : 0;
	g->len = len;
	memcpy(g->data, p, len);
	struct sock_dgram **tail = &s->dq;
	while (*tail)
		tail = &(*tail)->next;
	*tail = g;
	return 0;
}

static int poll_one(void *ctx, int ms)
{
	return poll(ctx, 1, ms);
}

int sock_wait(struct thread *t, int hfd, short events)
{
	struct pollfd p = { .fd = hfd, .events = events };
	long r = wait_slices(t, -1, poll_one, &p);
	return r > 0 ? 1 : r == -ERESTART_SYSCALL || r == -EINTR ? 0 : (int)r;
}

void sock_sigpipe(struct thread *t)
{
	struct ksiginfo i = sig_info_user(t->dom, SIGPIPE, KSI_USER, t->proc->pid);
	sig_send_thread(t, &i);
}

struct ofd *sock_aq_pop(struct ofd *listener)
{
	struct sock *s = sock_of(listener, false);
	if (!s || !s->naq)
		return NULL;
	struct ofd *c = s->aq[0];
	memmove(s->aq, s->aq + 1, (size_t)(s->naq - 1) * sizeof(*s->aq));
	s->naq--;
	return c;
}

int sock_aq_add(struct ofd *listener, struct ofd *conn)
{
	struct sock *s = sock_of(listener, true);
	struct ofd **n = s ? realloc(s->aq, (size_t)(s->naq + 1) * sizeof(*n)) : NULL;
	if (!n)
		return -ENOMEM;
	s->aq = n;
	s->aq[s->naq++] = conn;
	return 0;
}

void sock_bound_add(struct domain *d, struct sock *s, const struct sockaddr_un *host, socklen_t hlen,
		    int dirfd, const struct sock_uname *g)
{
	struct sock_bound *b = s && !s->bound && g && hlen <= sizeof(b->host) && g->len <= sizeof(b->guest)
			       ? calloc(1, sizeof(*b)) : NULL;

	if (!b) {
		close(dirfd);   /* received addresses from it read as unnamed */
		return;
	}
	b->dirfd = dirfd;
	b->hlen = hlen;
	memcpy(&b->host, host, hlen);
	b->glen = g->len;
	memcpy(&b->guest, &g->sa, g->len);
	b->next = d->unix_bound;
	if (b->next)
		b->next->pprev = &b->next;
	b->pprev = &d->unix_bound;
	d->unix_bound = b;
	s->bound = b;
}

socklen_t sock_bound_guest(const struct domain *d, struct sockaddr_storage *ss, socklen_t sl)
{
	struct sockaddr_un *un = (struct sockaddr_un *)ss;
	size_t off = offsetof(struct sockaddr_un, sun_path);

	if (ss->ss_family != AF_UNIX || sl <= off || strncmp(un->sun_path, "/proc/self/fd/", 14))
		return sl;
	for (const struct sock_bound *b = d->unix_bound; b; b = b->next)
		if (!strncmp(b->host.sun_path, un->sun_path, sizeof(un->sun_path))) {
			memcpy(un, &b->guest, b->glen);
			return b->glen;
		}
	return sizeof(sa_family_t);
}

struct sock_uname *sock_uname_dup(const struct sock_uname *u)
{
	struct sock_uname *c = u ? malloc(sizeof(*c)) : NULL;
	if (!c)
		return NULL;
	*c = *u;
	c->path = u->path ? strdup(u->path) : NULL;
	if (u->path && !c->path) {
		free(c);
		return NULL;
	}
	return c;
}

void sock_uname_free(struct sock_uname *u)
{
	if (u)
		free(u->path);
	free(u);
}

/* Whether host path `host` lies in the domain's denied directory (pdvm's
 * control sockets): each ancestor is compared by device and inode. */
static bool under_denied(const struct domain *d, const char *host)
{
	if (!d->deny_dir_set || host[0] != '/')
		return false;
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", host);
	for (;;) {
		struct stat st;
		if (stat(p, &st) == 0 && st.st_dev == d->deny_dev && st.st_ino == d->deny_ino)
			return true;
		char *slash = strrchr(p, '/');
		if (!slash || slash == p)
			break;
		*slash = '\0';
	}
	return false;
}

/* connect/sendto: the whole path resolves inside the root (symlinks
 * followed, and confined, as the kernel would follow them), it must name a
 * socket, and the host call goes through that socket's own fd: nothing can
 * be swapped in between, and a final symlink cannot lead out. */
static int unix_target(struct domain *d, const char *path, struct sockaddr_un *un, socklen_t *sl, int *fdp)
{
	int fd = path_lookup(d, AT_FDCWD, path, true, false);
	if (fd < 0)
		return fd;
	struct stat st;
	char host[PATH_MAX];
	int r = 0;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISSOCK(st.st_mode))
		r = -ECONNREFUSED;      /* as Linux, for a path that is no socket */
	else if (host_fd_path(fd, host, sizeof(host)) >= 0 && under_denied(d, host))
		r = -EACCES;            /* as an unprivileged process gets in root's 0700 directory */
	if (r) {
		close(fd);
		return r;
	}
	int n = snprintf(un->sun_path, sizeof(un->sun_path), "/proc/self/fd/%d", fd);
	*sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
	*fdp = fd;
	return 0;
}

/* Whether a socket of this pdvm (so of its domain: pdvm's own sockets have
 * path names) holds this abstract name. The host's view, so that autobound
 * names (a datagram client's reply address) count, and so that a restore
 * reconnecting before the fd tables are filled sees the sockets it made. */
static bool abstract_own(const struct sockaddr_un *un, socklen_t sl)
{
	DIR *dir = opendir("/proc/self/fd");
	if (!dir)
		return false;
	bool own = false;
	struct dirent *e;
	while (!own && (e = readdir(dir))) {
		int fd = atoi(e->d_name);
		struct sockaddr_un mine;
		socklen_t ml = sizeof(mine);
		own = e->d_name[0] != '.' && fd != dirfd(dir) &&
		      getsockname(fd, (struct sockaddr *)&mine, &ml) == 0 && ml == sl &&
		      mine.sun_family == AF_UNIX && !memcmp(&mine, un, sl);
	}
	closedir(dir);
	return own;
}

/* The host's abstract UNIX names (X11, D-Bus, containerd shims ...) have no
 * file system permissions to stop an unprivileged process. In the host's
 * network namespace a domain reaches only the names its own sockets hold,
 * unless the operator allowed the host's (abstract_unix = "host"); what it
 * cannot reach looks unbound (ECONNREFUSED). Its own netns has its own
 * abstract namespace. */
static bool abstract_reachable(struct domain *d, const struct sockaddr_un *un, socklen_t sl)
{
	return d->abstract_host || abstract_own(un, sl);
}

int sock_addr_host(struct domain *d, struct sockaddr_storage *ss, socklen_t *sl, bool bind, int *dirfd,
		   struct sock_uname **name)
{
	*dirfd = -1;
	if (name)
		*name = NULL;
	if (*sl < sizeof(sa_family_t) || ss->ss_family != AF_UNIX)
		return 0;
	if (*sl > sizeof(struct sockaddr_un))
		return -EINVAL; /* as Linux's unix_validate_addr */
	struct sockaddr_un *un = (struct sockaddr_un *)ss;
	size_t plen = *sl - offsetof(struct sockaddr_un, sun_path);
	if (plen == 0)
		return 0; /* unnamed */
	struct sock_uname *u = NULL;
	if (name) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return -ENOMEM;
		u->len = *sl;
		memcpy(&u->sa, un, *sl);
	}
	if (un->sun_path[0] == '\0') { /* abstract: no file system */
		if (!bind && !abstract_reachable(d, un, *sl)) {
			sock_uname_free(u);
			return -ECONNREFUSED;
		}
		if (name)
			*name = u;
		return 0;
	}
	char path[sizeof(un->sun_path) + 1];
	memcpy(path, un->sun_path, MIN(plen, sizeof(un->sun_path)));
	path[MIN(plen, sizeof(un->sun_path))] = '\0';
	char gpath[PATH_MAX * 2];
	int r = u ? path_compose(d, AT_FDCWD, path, gpath, sizeof(gpath)) : 0;
	if (u && r >= 0 && !(u->path = strdup(gpath)))
		r = -ENOMEM;
	if (!bind) {
		if (r >= 0) {
			memset(un->sun_path, 0, sizeof(un->sun_path));
			r = unix_target(d, path, un, sl, dirfd);
		}
		if (r < 0)
			sock_uname_free(u);
		else if (name)
			*name = u;
		return r;
	}
	struct parent p;
	if (r >= 0)
		r = path_parent(d, AT_FDCWD, path, &p);
	if (r < 0) {
		sock_uname_free(u);
		return r;
	}
	/* A directory too deep to name cannot be checked against the denied
	 * trees: refused as the composed path would have been. */
	int deny = p.deep ? -ENAMETOOLONG : under_denied(d, p.host) ? -EACCES :
		   !p.writable ? -EROFS : 0;
	if (deny) {
		parent_done(&p);
		sock_uname_free(u);
		return deny;
	}
	char host[sizeof(un->sun_path)];
	int n = snprintf(host, sizeof(host), "/proc/self/fd/%d/%s", p.fd, p.name);
	if (n < 0 || (size_t)n >= sizeof(host)) {
		parent_done(&p);
		sock_uname_free(u);
		return -ENAMETOOLONG;
	}
	memset(un->sun_path, 0, sizeof(un->sun_path));
	memcpy(un->sun_path, host, (size_t)n);
	*sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
	*dirfd = p.fd;
	if (name)
		*name = u;
	return 0;
}

/* ---- AF_UNIX peers ---- */

static uint32_t ino_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? (uint32_t)st.st_ino : 0;
}

/* The inode of the socket connected to socket inode `ino` (sock_diag's
 * UNIX_DIAG_PEER), or 0. */
static uint32_t unix_peer_ino(uint32_t ino)
{
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return 0;
	struct {
		struct nlmsghdr h;
		struct unix_diag_req r;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST },
		.r = { .sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_ino = ino, .udiag_show = UDIAG_SHOW_PEER,
		       .udiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } },
	};
	union {
		struct nlmsghdr h;
		char b[1024];
	} buf;
	ssize_t n = -1;
	uint32_t peer = 0;
	if (send(nl, &req, sizeof(req), 0) == (ssize_t)sizeof(req))
		n = recv(nl, &buf, sizeof(buf), 0);
	close(nl);
	struct nlmsghdr *h = &buf.h;
	if (n <= 0 || !NLMSG_OK(h, (size_t)n) || h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return 0;
	struct unix_diag_msg *m = NLMSG_DATA(h);
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || m->udiag_ino != ino)
		return 0;
	int left = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	for (struct rtattr *a = (struct rtattr *)(m + 1); RTA_OK(a, left); a = RTA_NEXT(a, left))
		if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= 4)
			memcpy(&peer, RTA_DATA(a), 4);
	return peer;
}

struct ofd *sock_unix_peer(struct domain *d, struct ofd *o, int *holder)
{
	uint32_t peer = unix_peer_ino(ino_of(o->hostfd));

	for (int i = 0; peer && i < MAX_PROCS; i++) {
		struct files *f = d->procs[i] ? d->procs[i]->files : NULL;
		for (int fd = 0; f && fd < f->nfds; fd++) {
			struct ofd *c = f->fds[fd].ofd;
			if (c && c->kind == OFD_SOCKET && ino_of(c->hostfd) == peer) {
				if (holder)
					*holder = d->procs[i]->pid;
				return c;
			}
		}
	}
	return NULL;
}

static bool same_name(const struct sock_uname *a, const struct sock_uname *b)
{
	if (a->path || b->path)
		return a->path && b->path && !strcmp(a->path, b->path);
	return a->len == b->len && !memcmp(&a->sa, &b->sa, a->len);
}

struct ofd *sock_unix_listener(struct domain *d, const struct sock_uname *name)
{
	for (int i = 0; name && i < MAX_PROCS; i++) {
		struct files *f = d->procs[i] ? d->procs[i]->files : NULL;
		for (int fd = 0; f && fd < f->nfds; fd++) {
			struct ofd *o = f->fds[fd].ofd;
			struct sock *s = sock_of(o, false);
			int on = 0;
			socklen_t l = sizeof(on);
			if (s && s->local && same_name(s->local, name) &&
			    getsockopt(o->hostfd, SOL_SOCKET, SO_ACCEPTCONN, &on, &l) == 0 && on)
				return o;
		}
	}
	return NULL;
}

int sock_pair_link(struct sock *a, struct sock *b)
{
	struct sock_pair *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	atomic_init(&p->refs, 2);
	a->pair = b->pair = p;
	a->end = 0;
	b->end = 1;
	return 0;
}

int sock_sender_pid(struct domain *d, struct ofd *o)
{
	struct sock *s = sock_of(o, false);
	if (s && s->pair && s->pair->sent_by[!s->end])
		return s->pair->sent_by[!s->end];
	return sock_peer_pid(d, o);
}

int sock_peer_pid(struct domain *d, struct ofd *o)
{
	int holder = 0;
	struct sock *ps = sock_of(sock_unix_peer(d, o, &holder), false);
	return ps && ps->cred_pid ? ps->cred_pid : holder;
}
