/* sys_poll.c: waiting on several fds — poll, ppoll, select, pselect6. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>

#include "domain.h"
#include "files.h"
#include "sock.h"
#include "syscall.h"
#include "uaccess.h"
#include "wait.h"

struct poll_ctx {
	struct pollfd *hp;
	unsigned n;
};

static int host_poll(void *ctx, int ms)
{
	struct poll_ctx *pc = ctx;
	return poll(pc->hp, pc->n, ms);
}

/*
 * Polls guest fds: each becomes its host fd (a closed one reports POLLNVAL,
 * a negative one is ignored, as on Linux). The host poll runs without the
 * domain lock, in slices, holding references so a concurrent close is safe.
 * timeout_ms < 0 waits for ever. Returns the ready count or -errno.
 */
static long do_poll(struct thread *t, struct pollfd *gp, unsigned n, int64_t timeout_ms)
{
	struct domain *d = t->dom;
	struct pollfd *hp = calloc(n ? n : 1, sizeof(*hp));
	struct ofd **refs = calloc(n ? n : 1, sizeof(*refs));
	long ready = 0;
	if (!hp || !refs) {
		free(hp);
		free(refs);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		gp[i].revents = 0;
		hp[i].fd = -1;
		if (gp[i].fd < 0)
			continue;
		refs[i] = fd_get(d, gp[i].fd);
		if (!refs[i]) {
			gp[i].revents = POLLNVAL;
			ready++;
			continue;
		}
		hp[i].fd = refs[i]->hostfd;
		hp[i].events = gp[i].events;
		if (sock_rq_pending(refs[i]) && (gp[i].events & (POLLIN | POLLRDNORM))) {
			/* A restart queue is data the host socket does not see. */
			gp[i].revents = gp[i].events & (POLLIN | POLLRDNORM);
			hp[i].fd = -1;
			ready++;
		}
	}
	if (ready && poll(hp, n, 0) > 0) {
		for (unsigned i = 0; i < n; i++)
			if (hp[i].fd >= 0 && hp[i].revents) {
				gp[i].revents = hp[i].revents;
				ready++;
			}
	}
	if (!ready) {
		struct poll_ctx pc = { hp, n };
		ready = wait_slices(t, timeout_ms, host_poll, &pc);
		for (unsigned i = 0; ready > 0 && i < n; i++)
			if (hp[i].fd >= 0)
				gp[i].revents = hp[i].revents;
	}
	for (unsigned i = 0; i < n; i++)
		if (refs[i])
			ofd_put(refs[i]);
	free(hp);
	free(refs);
	return ready;
}

static long poll_user(struct thread *t, gva_t ufds, uint64_t nfds, int64_t timeout_ms)
{
	struct domain *d = t->dom;
	if (nfds > (uint64_t)fd_limit(d))
		return -EINVAL;
	struct pollfd *p = calloc(nfds ? nfds : 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	long r = copy_from_user(d, p, ufds, nfds * sizeof(*p));
	if (!r)
		r = do_poll(t, p, (unsigned)nfds, timeout_ms);
	/* Only revents go back, like Linux. */
	for (uint64_t i = 0; r >= 0 && i < nfds; i++)
		if (copy_to_user(d, ufds + i * sizeof(*p) + offsetof(struct pollfd, revents), &p[i].revents, 2))
			r = -EFAULT;
	free(p);
	return r;
}

static long sys_poll(struct thread *t, const uint64_t a[6])
{
	int ms = (int)a[2];
	return poll_user(t, a[0], a[1], ms < 0 ? -1 : ms);
}

/* Seconds plus a fraction (`units` of it per millisecond) as whole
 * milliseconds, rounded up and capped: the wait is never shorter. */
static int64_t ms_round_up(int64_t sec, int64_t frac, int64_t units)
{
	return sec > 1000000000 ? 1000000000000LL : sec * 1000LL + (frac + units - 1) / units;
}

int timeout_from_user(struct domain *d, gva_t uts, int64_t *ms)
{
	struct timespec ts;
	if (!uts) {
		*ms = -1;
		return 0;
	}
	if (copy_from_user(d, &ts, uts, sizeof(ts)))
		return -EFAULT;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L)
		return -EINVAL;
	*ms = ms_round_up(ts.tv_sec, ts.tv_nsec, 1000000);
	return 0;
}

static long sys_ppoll(struct thread *t, const uint64_t a[6])
{
	int64_t ms;
	long r = timeout_from_user(t->dom, a[2], &ms);
	if (r)
		return r;
	r = sig_mask_swap_in(t, a[3], a[4]);
	return r ? r : sig_mask_swap_out(t, poll_user(t, a[0], a[1], ms));
}

static long select_common(struct thread *t, int nfds, gva_t sets[3], int64_t ms)
{
	struct domain *d = t->dom;
	if (nfds < 0 || nfds > FD_SETSIZE)
		return -EINVAL;
	size_t bytes = (size_t)(nfds + 63) / 64 * 8;
	uint64_t in[3][FD_SETSIZE / 64] = { { 0 } }, out[3][FD_SETSIZE / 64] = { { 0 } };
	for (int k = 0; k < 3; k++)
		if (sets[k] && copy_from_user(d, in[k], sets[k], bytes))
			return -EFAULT;
	static const short ev[3] = { POLLIN | POLLHUP | POLLERR, POLLOUT | POLLERR, POLLPRI };
	struct pollfd *p = calloc((size_t)nfds + 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	unsigned n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short e = 0;
		for (int k = 0; k < 3; k++)
			if (in[k][fd / 64] & (1ULL << (fd % 64)))
				e |= ev[k];
		if (e)
			p[n++] = (struct pollfd){ .fd = fd, .events = e };
	}
	long r = do_poll(t, p, n, ms);
	int count = 0;
	for (unsigned i = 0; r >= 0 && i < n; i++) {
		if (p[i].revents & POLLNVAL) {
			r = -EBADF;
			break;
		}
		for (int k = 0; k < 3; k++) {
			if ((p[i].events & ev[k] & ~(POLLHUP | POLLERR)) && (p[i].revents & ev[k])) {
				out[k][p[i].fd / 64] |= 1ULL << (p[i].fd % 64);
				count++;
			}
		}
	}
	free(p);
	if (r < 0)
		return r;
	for (int k = 0; k < 3; k++)
		if (sets[k] && copy_to_user(d, sets[k], out[k], bytes))
			return -EFAULT;
	return count;
}

static long sys_select(struct thread *t, const uint64_t a[6])
{
	gva_t sets[3] = { a[1], a[2], a[3] };
	int64_t ms = -1;
	if (a[4]) {
		struct timeval tv;
		if (copy_from_user(t->dom, &tv, a[4], sizeof(tv)))
			return -EFAULT;
		if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
			return -EINVAL;
		ms = ms_round_up(tv.tv_sec, tv.tv_usec, 1000);
	}
	return select_common(t, (int)a[0], sets, ms);
}

static long sys_pselect6(struct thread *t, const uint64_t a[6])
{
	gva_t sets[3] = { a[1], a[2], a[3] };
	int64_t ms;
	long r = timeout_from_user(t->dom, a[4], &ms);
	if (r)
		return r;
	/* The sixth argument points at { const sigset_t *ss; size_t len; }. */
	uint64_t sig[2] = { 0, 0 };
	if (a[5] && copy_from_user(t->dom, sig, a[5], sizeof(sig)))
		return -EFAULT;
	r = sig_mask_swap_in(t, sig[0], sig[1]);
	return r ? r : sig_mask_swap_out(t, select_common(t, (int)a[0], sets, ms));
}

const struct syscall_desc sys_poll_table[] = {
	{ SYS_poll, "poll", sys_poll },
	{ SYS_ppoll, "ppoll", sys_ppoll },
	{ SYS_select, "select", sys_select },
	{ SYS_pselect6, "pselect6", sys_pselect6 },
	{ -1, NULL, NULL },
};
