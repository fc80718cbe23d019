/* futex.c: futex waiters and the futex operations — wait, wake, requeue, wake-op — for sys_futex, thread exit and the VMM's own waits (child changes, signals). */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <time.h>

#include "clock.h"
#include "domain.h"
#include "futex.h"
#include "syscall.h"
#include "uaccess.h"

/* The futex word's guest-physical address: one key for private and shared. */
static int futex_key(struct domain *d, gva_t uaddr, gpa_t *key, uint32_t **host)
{
	if (uaddr & 3)
		return -EINVAL;
	size_t avail;
	uint32_t *p = mm_user_page(d, uaddr, false, &avail);
	if (!p)
		return -EFAULT;
	uint64_t sz, e = pt_lookup(&dom_mm(d)->pt, uaddr, &sz);
	*key = (e & PTE_ADDR & ~(sz - 1)) + (uaddr & (sz - 1));
	if (host)
		*host = p;
	return 0;
}

static int futex_wake_key(struct domain *d, gpa_t key, int n, uint32_t bitset)
{
	int woken = 0;
	for (struct futex_waiter *w = d->futex_waiters; w && woken < n; w = w->next) {
		if (w->key == key && (w->bitset & bitset) && !w->woken) {
			w->woken = true;
			pthread_cond_signal(&w->cv);
			woken++;
		}
	}
	return woken;
}

long futex_wake(struct domain *d, gva_t uaddr, int n, uint32_t bitset)
{
	gpa_t key;
	int r = futex_key(d, uaddr, &key, NULL);
	return r ? r : futex_wake_key(d, key, n, bitset);
}

void futex_waiter_link(struct domain *d, struct futex_waiter *w, gpa_t key)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* timed waits take monotonic deadlines */
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	w->key = key;
	w->woken = false;
	w->prev = NULL;
	w->next = d->futex_waiters;
	if (w->next)
		w->next->prev = w;
	d->futex_waiters = w;
}

void futex_waiter_unlink(struct domain *d, struct futex_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		d->futex_waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_cond_destroy(&w->cv);
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + (uint64_t)ts->tv_nsec;
}

long futex_wait(struct thread *t, gva_t uaddr, uint32_t val, const struct timespec *timeout,
		uint32_t bitset, bool absolute, clockid_t clk)
{
	struct domain *d = t->dom;
	gpa_t key;
	uint32_t *word;
	struct timespec deadline;
	bool timed = timeout != NULL;
	int r = futex_key(d, uaddr, &key, &word);
	if (r)
		return r;
	if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != val)
		return -EAGAIN;
	if (timed) {
		/* Waits run on CLOCK_MONOTONIC; a realtime deadline is shifted. */
		uint64_t now = host_mono_ns(), end, dl;
		if (!absolute && restart_pending(t, &dl)) {
			/* Re-issued after a pause: wait only what was left. */
			uint64_t g = guest_mono_ns(d);
			end = now + (dl > g ? dl - g : 0);
		} else if (!absolute) {
			end = now + ts_ns(timeout);
		} else {
			struct timespec cnow;
			guest_clock_now(d, clk, &cnow);
			uint64_t want = ts_ns(timeout), have = ts_ns(&cnow);
			end = now + (want > have ? want - have : 0);
		}
		deadline = mono_timespec(end);
	}
	struct futex_waiter w = { .bitset = bitset };
	futex_waiter_link(d, &w, key);
	t->waiting = &w;
	long ret = 0;
	while (!w.woken) {
		if (d->exiting || t->proc->exiting || t->exited) {
			ret = -EINTR;
			break;
		}
		if (d->paused || sig_deliverable(t)) {
			/* Re-issued after the pause (or the signal handler, or
			 * -EINTR: vmm/ksignal.c decides): a wake-up in between shows
			 * as a changed futex word (-EAGAIN), as on Linux. */
			if (timed && !absolute) {
				uint64_t now = host_mono_ns();
				uint64_t left = ts_ns(&deadline) > now ? ts_ns(&deadline) - now : 0;
				ret = restart_at(t, guest_mono_ns(d) + left);
			} else {
				ret = -ERESTART_SYSCALL;
			}
			break;
		}
		int e = timed ? pthread_cond_timedwait(&w.cv, &d->lock, &deadline)
			      : pthread_cond_wait(&w.cv, &d->lock);
		if (e == ETIMEDOUT && !w.woken) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	t->waiting = NULL;
	futex_waiter_unlink(d, &w);
	return ret;
}

long futex_requeue(struct domain *d, gva_t uaddr, int nwake, int nreq, gva_t uaddr2,
		   bool cmp, uint32_t val3)
{
	gpa_t k1, k2;
	uint32_t *word;
	if (nwake < 0 || nreq < 0)
		return -EINVAL;
	int r = futex_key(d, uaddr, &k1, &word);
	if (r || (r = futex_key(d, uaddr2, &k2, NULL)))
		return r;
	if (cmp && __atomic_load_n(word, __ATOMIC_SEQ_CST) != val3)
		return -EAGAIN;
	int woken = futex_wake_key(d, k1, nwake, ~0u), moved = 0;
	for (struct futex_waiter *w = d->futex_waiters; w && moved < nreq; w = w->next) {
		if (w->key == k1 && !w->woken) {
			w->key = k2;
			moved++;
		}
	}
	return woken + moved;
}

long futex_wake_op(struct domain *d, gva_t uaddr, int n1, int n2, gva_t uaddr2, uint32_t op)
{
	gpa_t k1, k2;
	uint32_t *w2;
	int r = futex_key(d, uaddr, &k1, NULL);
	if (r || (r = futex_key(d, uaddr2, &k2, NULL)))
		return r;
	if (!(w2 = user_ptr(d, uaddr2, 4, true)))
		return -EFAULT;
	uint32_t kind = (op >> 28) & 7, cmp = (op >> 24) & 15;
	uint32_t oparg = (op >> 12) & 0xfff, cmparg = op & 0xfff;
	if (op & (8u << 28))
		oparg = oparg < 32 ? 1u << oparg : 0;
	uint32_t old = __atomic_load_n(w2, __ATOMIC_SEQ_CST), nv;
	switch (kind) {
	case FUTEX_OP_SET: nv = oparg; break;
	case FUTEX_OP_ADD: nv = old + oparg; break;
	case FUTEX_OP_OR: nv = old | oparg; break;
	case FUTEX_OP_ANDN: nv = old & ~oparg; break;
	case FUTEX_OP_XOR: nv = old ^ oparg; break;
	default: return -ENOSYS;
	}
	__atomic_store_n(w2, nv, __ATOMIC_SEQ_CST);
	bool c;
	switch (cmp) {
	case FUTEX_OP_CMP_EQ: c = old == cmparg; break;
	case FUTEX_OP_CMP_NE: c = old != cmparg; break;
	case FUTEX_OP_CMP_LT: c = (int)old < (int)cmparg; break;
	case FUTEX_OP_CMP_LE: c = (int)old <= (int)cmparg; break;
	case FUTEX_OP_CMP_GT: c = (int)old > (int)cmparg; break;
	case FUTEX_OP_CMP_GE: c = (int)old >= (int)cmparg; break;
	default: return -ENOSYS;
	}
	int woken = futex_wake_key(d, k1, n1, ~0u);
	if (c)
		woken += futex_wake_key(d, k2, n2, ~0u);
	return woken;
}
