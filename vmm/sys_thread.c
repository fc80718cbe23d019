/* sys_thread.c: threads and futexes — clone, exit, set_tid_address, futex. */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>

#include "domain.h"
#include "syscall.h"
#include "trap.h"
#include "uaccess.h"

#define CLONE_THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)
#define CLONE_ALLOWED (CLONE_THREAD_FLAGS | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | \
		       CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | CLONE_DETACHED | 0xff)

int clone_cpu_state(struct thread *t, struct thread *c, uint64_t flags, gva_t newsp, gva_t tls)
{
	struct domain *d = t->dom;
	c->fs_base = (flags & CLONE_SETTLS) ? tls : t->fs_base;
	c->gs_base = t->gs_base;
	c->sigmask = t->sigmask;
	int err = trap_vcpu_init(d, c);
	if (err)
		return err;
	struct kvm_fpu fpu;
	if (ioctl(t->vcpu.fd, KVM_GET_FPU, &fpu) < 0 || ioctl(c->vcpu.fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	c->regs = t->regs;
	c->regs.rax = 0;
	if (newsp)
		c->regs.rsp = newsp;
	c->regs_dirty = true;
	return 0;
}

void clone_abort(struct thread *c)
{
	struct domain *d = c->dom;
	c->exited = true;
	for (int i = 0; i < MAX_THREADS; i++)
		if (d->threads[i] == c)
			d->threads[i] = NULL;
	if (d->npool < MAX_THREADS)
		d->vcpu_pool[d->npool++] = c->vcpu;
	d->nthreads--;
	c->proc->nthreads--;
	free(c);
}

static long sys_clone(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	uint64_t flags = a[0];
	gva_t newsp = a[1], ptid = a[2], ctid = a[3], tls = a[4];
	/* As Linux's arch_prctl(ARCH_SET_FS) rule, for threads and processes. */
	if ((flags & CLONE_SETTLS) && tls >= USER_MAX)
		return -EPERM;
	if (!(flags & CLONE_THREAD)) {
		if (flags & (CLONE_SIGHAND | CLONE_FILES)) {
			/* Sharing handlers or the fd table between processes. */
			dom_log(d, "clone: a process sharing handlers or files (flags %#llx): EINVAL",
				(unsigned long long)flags);
			return -EINVAL;
		}
		return proc_clone(t, flags, newsp, ptid, ctid, tls);
	}
	if ((flags & CLONE_THREAD_FLAGS) != CLONE_THREAD_FLAGS)
		return -EINVAL;
	if (flags & ~(uint64_t)CLONE_ALLOWED)
		return -EINVAL;
	int err = 0;
	struct thread *c = thread_create(d, &err);
	if (!c)
		return err;
	c->tid = d->next_tid++;
	if ((err = clone_cpu_state(t, c, flags, newsp, tls)))
		goto fail;
	uint32_t tid = (uint32_t)c->tid;
	if ((flags & CLONE_PARENT_SETTID) && copy_to_user(d, ptid, &tid, 4)) {
		err = -EFAULT;
		goto fail;
	}
	if ((flags & CLONE_CHILD_SETTID) && copy_to_user(d, ctid, &tid, 4)) {
		err = -EFAULT;
		goto fail;
	}
	if (flags & CLONE_CHILD_CLEARTID)
		c->clear_child_tid = ctid;
	if ((err = thread_start(c)))
		goto fail;
	return c->tid;
fail:
	clone_abort(c);
	return err;
}

static long sys_clone3(struct thread *t, const uint64_t a[6])
{
	(void)t, (void)a;
	return -ENOSYS; /* glibc falls back to clone */
}

static long sys_exit(struct thread *t, const uint64_t a[6])
{
	if (t->proc->nthreads == 1)
		proc_exit_group(t->proc, (int)(a[0] & 0xff) << 8);
	thread_exit(t);
	return 0;
}

static long sys_exit_group(struct thread *t, const uint64_t a[6])
{
	proc_exit_group(t->proc, (int)(a[0] & 0xff) << 8);
	return 0;
}

static long sys_set_tid_address(struct thread *t, const uint64_t a[6])
{
	t->clear_child_tid = a[0];
	return t->tid;
}

/* ---- futex ---- */

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

int futex_wake_addr(struct domain *d, gva_t uaddr, int n)
{
	gpa_t key;
	int r = futex_key(d, uaddr, &key, NULL);
	return r ? r : futex_wake_key(d, key, n, ~0u);
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

static long futex_wait(struct thread *t, gva_t uaddr, uint32_t val, gva_t utime, uint32_t bitset,
		       bool absolute, clockid_t clk)
{
	struct domain *d = t->dom;
	gpa_t key;
	uint32_t *word;
	if (!bitset)
		return -EINVAL;
	struct timespec ts, deadline;
	bool timed = utime != 0;
	if (timed) {
		if (copy_from_user(d, &ts, utime, sizeof(ts)))
			return -EFAULT;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L)
			return -EINVAL;
	}
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
			end = now + ts_ns(&ts);
		} else {
			struct timespec cnow;
			guest_clock_now(d, clk, &cnow);
			uint64_t want = ts_ns(&ts), have = ts_ns(&cnow);
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

static long futex_requeue(struct domain *d, gva_t uaddr, int nwake, int nreq, gva_t uaddr2,
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

static long futex_wake_op(struct domain *d, gva_t uaddr, int n1, int n2, gva_t uaddr2, uint32_t op)
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

static long sys_futex(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int op = (int)a[1];
	int cmd = op & FUTEX_CMD_MASK;
	bool realtime = op & FUTEX_CLOCK_REALTIME;
	if (realtime && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT)
		return -ENOSYS;
	uint32_t val = (uint32_t)a[2];
	switch (cmd) {
	case FUTEX_WAIT:
		return futex_wait(t, a[0], val, a[3], ~0u, false, CLOCK_MONOTONIC);
	case FUTEX_WAIT_BITSET:
		return futex_wait(t, a[0], val, a[3], (uint32_t)a[5], true,
				  realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC);
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET: {
		gpa_t key;
		uint32_t bits = cmd == FUTEX_WAKE ? ~0u : (uint32_t)a[5];
		if (!bits)
			return -EINVAL;
		int r = futex_key(d, a[0], &key, NULL);
		if (r)
			return r;
		return futex_wake_key(d, key, (int)MIN(val, (uint32_t)INT32_MAX), bits);
	}
	case FUTEX_REQUEUE:
		return futex_requeue(d, a[0], (int)val, (int)a[3], a[4], false, 0);
	case FUTEX_CMP_REQUEUE:
		return futex_requeue(d, a[0], (int)val, (int)a[3], a[4], true, (uint32_t)a[5]);
	case FUTEX_WAKE_OP:
		return futex_wake_op(d, a[0], (int)val, (int)a[3], a[4], (uint32_t)a[5]);
	default:
		return -ENOSYS;
	}
}

const struct syscall_desc sys_thread_table[] = {
	{ SYS_clone, "clone", sys_clone },
	{ SYS_clone3, "clone3", sys_clone3 },
	{ SYS_exit, "exit", sys_exit },
	{ SYS_exit_group, "exit_group", sys_exit_group },
	{ SYS_set_tid_address, "set_tid_address", sys_set_tid_address },
	{ SYS_futex, "futex", sys_futex },
	{ -1, NULL, NULL },
};
