/* sock.c: the socket state beside each host socket — listen backlog, the restart queue served before the host socket — and the wait and SIGPIPE every socket call shares. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#include "domain.h"
#include "files_internal.h"
#include "sock.h"

#define SLICE_MS 100    /* wake up this often to notice a pause */

static void sock_release(struct ofd *o)
{
	struct sock *s = o->priv;
	if (!s)
		return;
	free(s->rbuf);
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
	return s && (s->roff < s->rlen || s->dq || s->eof);
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

int sock_wait(struct thread *t, int hfd, short events)
{
	for (;;) {
		struct pollfd p = { .fd = hfd, .events = events };
		dom_block_begin(t);
		int r = poll(&p, 1, SLICE_MS);
		int e = errno;
		bool ok = dom_block_end(t);
		if (r > 0)
			return 1;
		if (r < 0 && e != EINTR)
			return -e;
		if (!ok || r < 0)
			return 0;
	}
}

void sock_sigpipe(struct thread *t)
{
	struct ksiginfo i = sig_info_user(SIGPIPE, KSI_USER, t->proc->pid);
	sig_send_thread(t, &i);
}

uint64_t sock_pair_id(void)
{
	static _Atomic uint64_t next = 1;
	return atomic_fetch_add(&next, 1);
}
