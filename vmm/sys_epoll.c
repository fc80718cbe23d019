/* sys_epoll.c: epoll_create/ctl/wait on host epoll sets — guest data passed through the host's, blocking waits without the domain lock, restored sockets' restart queues reported ready. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "domain.h"
#include "epoll.h"
#include "files.h"
#include "sock.h"
#include "syscall.h"
#include "wait.h"
#include "uaccess.h"

#define EP_BATCH        1024    /* events per call at most (fewer is always allowed) */
#define EP_FLAGS_OK     (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDNORM | EPOLLRDBAND | \
			 EPOLLWRNORM | EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP | EPOLLEXCLUSIVE | EPOLLWAKEUP | \
			 EPOLLONESHOT | EPOLLET)

/* ---- registrations (epoll.h, struct ep_reg) ---- */

#define GFD_RESTORED    (-1)    /* a registration from an image: its fd unknown */
#define GFD_ANY         (-2)    /* reg_find: any registration of the target */

static void reg_unlink_target(struct ep_reg *g)
{
	for (struct ep_reg **p = &g->target->ep_regs; *p; p = &(*p)->next_of_target)
		if (*p == g) {
			*p = g->next_of_target;
			return;
		}
}

static void reg_unlink_set(struct ep_reg *g)
{
	struct epset *s = g->set->priv;

	for (struct ep_reg **p = &s->regs; *p; p = &(*p)->next_in_set)
		if (*p == g) {
			*p = g->next_in_set;
			return;
		}
}

static void reg_free(struct ep_reg *g)
{
	if (g->hfd != g->target->hostfd)
		close(g->hfd);      /* a dup: the host drops its registration */
	free(g);
}

static struct ep_reg *reg_find(struct ofd *ep, struct ofd *target, int gfd)
{
	struct epset *s = ep->priv;

	for (struct ep_reg *g = s->regs; g; g = g->next_in_set)
		if (g->target == target && (gfd == GFD_ANY || g->gfd == gfd))
			return g;
	return NULL;
}

static int reg_add(struct ofd *ep, struct ofd *target, int gfd, int hfd)
{
	struct epset *s = ep->priv;
	struct ep_reg *g = malloc(sizeof(*g));

	if (!g)
		return -ENOMEM;
	*g = (struct ep_reg){ s->regs, target->ep_regs, ep, target, gfd, hfd };
	s->regs = g;
	target->ep_regs = g;
	return 0;
}

void ep_target_gone(struct ofd *o)
{
	while (o->ep_regs) {
		struct ep_reg *g = o->ep_regs;
		o->ep_regs = g->next_of_target;
		reg_unlink_set(g);
		reg_free(g);
	}
}

struct ofd *ep_reg_target(struct ofd *ep, int hfd)
{
	struct epset *s = ep->priv;

	for (struct ep_reg *g = s ? s->regs : NULL; g; g = g->next_in_set)
		if (g->hfd == hfd)
			return g->target;
	return NULL;
}

/* Adds target to the host set as registered through guest fd gfd: its own
 * host fd the first time, a dup for a second guest fd. */
static int reg_host_add(struct ofd *ep, struct ofd *target, int gfd, struct epoll_event *ev)
{
	int hfd = target->hostfd;

	if (reg_find(ep, target, GFD_ANY)) {
		hfd = fcntl(target->hostfd, F_DUPFD_CLOEXEC, 0);
		if (hfd < 0)
			return -errno;
	}
	int r = epoll_ctl(ep->hostfd, EPOLL_CTL_ADD, hfd, ev) < 0 ? -errno : 0;
	if (!r)
		r = reg_add(ep, target, gfd, hfd);
	if (r && hfd != target->hostfd)
		close(hfd);
	return r;
}

static void ep_release(struct ofd *o)
{
	struct epset *s = o->priv;
	while (s && s->regs) {
		struct ep_reg *g = s->regs;
		s->regs = g->next_in_set;
		reg_unlink_target(g);
		reg_free(g);
	}
	while (s && s->watch) {
		struct ep_watch *w = s->watch;
		s->watch = w->next;
		ofd_put(w->o);
		free(w);
	}
	free(s);
	o->priv = NULL;
}

struct ofd *ep_new(int hfd, int flags, const char *desc)
{
	struct ofd *o = ofd_new(hfd, flags, OFD_EPOLL, desc);
	if (!o)
		return NULL;
	o->priv = calloc(1, sizeof(struct epset));
	if (!o->priv) {
		ofd_put(o);
		return NULL;
	}
	o->release = ep_release;
	o->may_block = false;   /* reads fail with EINVAL, as on Linux */
	return o;
}

static void unwatch(struct epset *s, struct ofd *target)
{
	for (struct ep_watch **p = &s->watch; *p;) {
		struct ep_watch *w = *p;
		if (w->o == target) {
			*p = w->next;
			ofd_put(w->o);
			free(w);
		} else {
			p = &w->next;
		}
	}
}

int ep_watch_add(struct ofd *ep, struct ofd *target, uint32_t events, uint64_t data)
{
	struct epset *s = ep->priv;
	for (struct ep_watch *w = s->watch; w; w = w->next)
		if (w->o == target)
			return 0;
	struct ep_watch *w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct ep_watch){ s->watch, ofd_get(target), events, data };
	s->watch = w;
	return 0;
}

int ep_register(struct ofd *ep, struct ofd *target, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	int r = reg_host_add(ep, target, GFD_RESTORED, &ev);
	if (r)
		return r;
	return sock_rq_pending(target) ? ep_watch_add(ep, target, events, data) : 0;
}

static long do_create(struct thread *t, int flags)
{
	if (flags & ~EPOLL_CLOEXEC)
		return -EINVAL;
	if (fd_find_free(t->dom, 0) < 0)
		return -EMFILE;
	int h = epoll_create1(EPOLL_CLOEXEC);
	if (h < 0)
		return -errno;
	struct ofd *o = ep_new(h, O_RDWR, "anon_inode:[eventpoll]");
	return o ? fd_install(t->dom, o, 0, flags & EPOLL_CLOEXEC) : -ENOMEM;
}

static long sys_epoll_create(struct thread *t, const uint64_t a[6])
{
	return (int)a[0] <= 0 ? -EINVAL : do_create(t, 0);
}

static long sys_epoll_create1(struct thread *t, const uint64_t a[6])
{
	return do_create(t, (int)a[0]);
}

/* One epoll_ctl on the registration (ep, tg, gfd). */
static long ctl(struct ofd *ep, struct ofd *tg, int gfd, int op, struct epoll_event *ev)
{
	struct ep_reg *g = reg_find(ep, tg, gfd);

	if (op == EPOLL_CTL_ADD)
		return g ? -EEXIST : reg_host_add(ep, tg, gfd, ev);
	if (!g && (g = reg_find(ep, tg, GFD_RESTORED)))
		g->gfd = gfd;   /* restored without its fd: this is it */
	if (!g)
		return -ENOENT;
	if (epoll_ctl(ep->hostfd, op, g->hfd, ev) < 0)
		return -errno;
	if (op == EPOLL_CTL_DEL) {
		reg_unlink_set(g);
		reg_unlink_target(g);
		reg_free(g);
	}
	return 0;
}

static long sys_epoll_ctl(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int op = (int)a[1];
	struct epoll_event ev = { 0 };
	if (op != EPOLL_CTL_DEL && copy_from_user(d, &ev, a[3], sizeof(ev)))
		return -EFAULT;
	struct ofd *ep = fd_get(d, (int)a[0]), *tg = fd_get(d, (int)a[2]);
	long r = 0;
	if (!ep || !tg)
		r = -EBADF;
	else if (ep->kind != OFD_EPOLL || ep == tg)
		r = -EINVAL;
	else if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
		r = -EINVAL;
	else if (ev.events & ~EP_FLAGS_OK)
		r = -EINVAL;
	else
		r = ctl(ep, tg, (int)a[2], op, &ev);
	if (!r && op != EPOLL_CTL_ADD) {
		struct epset *s = ep->priv;
		for (struct ep_watch *w = s->watch; w && op == EPOLL_CTL_MOD; w = w->next)
			if (w->o == tg) {
				w->events = ev.events;
				w->data = ev.data.u64;
				op = -1;
			}
		if (op == EPOLL_CTL_DEL)
			unwatch(s, tg);
	} else if (!r && sock_rq_pending(tg)) {
		/* A restored socket added again (after a DEL): watch it too. */
		ep_watch_add(ep, tg, ev.events, ev.data.u64);
	}
	if (ep)
		ofd_put(ep);
	if (tg)
		ofd_put(tg);
	return r;
}

/* The watched restart queues that are ready; drained, closed and
 * edge-triggered (once reported) watches go away. */
static int watch_ready(struct epset *s, struct epoll_event *ev, int max)
{
	int n = 0;
	for (struct ep_watch **p = &s->watch; *p;) {
		struct ep_watch *w = *p;
		bool gone = atomic_load(&w->o->refs) == 1 || !sock_rq_pending(w->o);
		if (!gone && n < max && (w->events & (EPOLLIN | EPOLLRDNORM))) {
			ev[n].events = w->events & (EPOLLIN | EPOLLRDNORM);
			ev[n++].data.u64 = w->data;
			gone = w->events & (EPOLLET | EPOLLONESHOT);
		}
		if (gone) {
			*p = w->next;
			ofd_put(w->o);
			free(w);
		} else {
			p = &w->next;
		}
	}
	return n;
}

struct ep_ctx {
	int fd;
	struct epoll_event *ev;
	int n;
};

static int host_epoll_wait(void *ctx, int ms)
{
	struct ep_ctx *c = ctx;
	return epoll_wait(c->fd, c->ev, c->n, ms);
}

static long do_wait(struct thread *t, int epfd, gva_t uev, int maxev, int64_t timeout_ms)
{
	struct domain *d = t->dom;
	if (maxev <= 0 || (uint64_t)maxev > INT_MAX / sizeof(struct epoll_event))
		return -EINVAL;
	uint64_t len = (uint64_t)maxev * sizeof(struct epoll_event);
	if (len > USER_MAX || uev > USER_MAX - len)
		return -EFAULT;
	struct ofd *o = fd_get(d, epfd);
	if (!o)
		return -EBADF;
	if (o->kind != OFD_EPOLL) {
		ofd_put(o);
		return -EINVAL;
	}
	int n = maxev < EP_BATCH ? maxev : EP_BATCH;
	struct epoll_event *ev = calloc((size_t)n, sizeof(*ev));
	long got = ev ? watch_ready(o->priv, ev, n) : -ENOMEM;
	if (got > 0 && got < n) {
		/* Add what the host has ready now, without repeating a watch. */
		int h = epoll_wait(o->hostfd, ev + got, n - (int)got, 0);
		for (int i = 0; i < h; i++) {
			bool dup = false;
			for (long j = 0; j < got && !dup; j++)
				dup = ev[j].data.u64 == ev[got + i].data.u64;
			if (dup)
				ev[got + i].events = 0;
		}
		int k = (int)got;
		for (int i = 0; i < h; i++)
			if (ev[got + i].events)
				ev[k++] = ev[got + i];
		got = k;
	}
	if (got == 0) {
		struct ep_ctx c = { o->hostfd, ev, n };
		got = wait_slices(t, timeout_ms, host_epoll_wait, &c);
	}
	if (got > 0 && copy_to_user(d, uev, ev, (size_t)got * sizeof(*ev)))
		got = -EFAULT;
	free(ev);
	ofd_put(o);
	return got;
}

static long sys_epoll_wait(struct thread *t, const uint64_t a[6])
{
	int ms = (int)a[3];
	return do_wait(t, (int)a[0], a[1], (int)a[2], ms < 0 ? -1 : ms);
}

static long sys_epoll_pwait(struct thread *t, const uint64_t a[6])
{
	long r = sig_mask_swap_in(t, a[4], a[5]);
	return r ? r : sig_mask_swap_out(t, sys_epoll_wait(t, a));
}

static long sys_epoll_pwait2(struct thread *t, const uint64_t a[6])
{
	int64_t ms;
	long r = timeout_from_user(t->dom, a[3], &ms);
	if (!r)
		r = sig_mask_swap_in(t, a[4], a[5]);
	return r ? r : sig_mask_swap_out(t, do_wait(t, (int)a[0], a[1], (int)a[2], ms));
}

const struct syscall_desc sys_epoll_table[] = {
	{ SYS_epoll_create, "epoll_create", sys_epoll_create },
	{ SYS_epoll_create1, "epoll_create1", sys_epoll_create1 },
	{ SYS_epoll_ctl, "epoll_ctl", sys_epoll_ctl },
	{ SYS_epoll_wait, "epoll_wait", sys_epoll_wait },
	{ SYS_epoll_pwait, "epoll_pwait", sys_epoll_pwait },
	{ SYS_epoll_pwait2, "epoll_pwait2", sys_epoll_pwait2 },
	{ -1, NULL, NULL },
};
