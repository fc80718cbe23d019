/* sys_signal.c: signal system calls — sigaction, masks, sigaltstack, kill family, sigreturn, sigsuspend, pause, sigtimedwait. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "clock.h"
#include "domain.h"
#include "ksignal.h"
#include "rr.h"
#include "syscall.h"
#include "uaccess.h"

#define KSIGSET_SIZE	8
/* UAPI_SA_FLAGS: the kernel clears every other bit so that programs can
 * detect unsupported flags (SA_UNSUPPORTED 0x400 among them). */
#define KSA_FLAGS	(0x1ULL | 0x2ULL | 0x4ULL | 0x08000000ULL | 0x10000000ULL | \
			 0x40000000ULL | 0x80000000ULL | 0x800ULL | 0x04000000ULL)

static bool valid_sig(uint64_t sig)
{
	return sig >= 1 && sig <= NSIG_K;
}

static long sys_rt_sigaction(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int sig = (int)a[0];
	struct sigaction_k act, old;

	if (a[3] != KSIGSET_SIZE)
		return -EINVAL;
	if (a[1] && copy_from_user(d, &act, a[1], sizeof(act)))
		return -EFAULT;
	if (!valid_sig(a[0]) || (a[1] && (sig == SIGKILL || sig == SIGSTOP)))
		return -EINVAL;
	old = t->proc->sigactions[sig - 1];
	old.flags &= KSA_FLAGS;
	if (a[1]) {
		act.flags &= KSA_FLAGS;
		act.mask &= ~SIG_UNBLOCKABLE;
		t->proc->sigactions[sig - 1] = act;
		/* Setting a signal to be ignored discards it if pending. */
		if (act.handler == KSIG_IGN ||
		    (act.handler == KSIG_DFL && (sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH))) {
			t->proc->sig_pending &= ~SIGBIT(sig);
			for (int i = 0; i < MAX_THREADS; i++)
				if (d->threads[i] && d->threads[i]->proc == t->proc)
					d->threads[i]->sig_pending &= ~SIGBIT(sig);
		}
	}
	if (a[2] && copy_to_user(d, a[2], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

static long sys_rt_sigprocmask(struct thread *t, const uint64_t a[6])
{
	int how = (int)a[0];
	uint64_t set, old = t->sigmask;

	if (a[3] != KSIGSET_SIZE)
		return -EINVAL;
	if (a[1]) {
		if (copy_from_user(t->dom, &set, a[1], sizeof(set)))
			return -EFAULT;
		set &= ~SIG_UNBLOCKABLE;
		switch (how) {
		case SIG_BLOCK:
			t->sigmask |= set;
			break;
		case SIG_UNBLOCK:
			t->sigmask &= ~set;
			break;
		case SIG_SETMASK:
			t->sigmask = set;
			break;
		default:
			return -EINVAL;
		}
	}
	if (a[2] && copy_to_user(t->dom, a[2], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

static long sys_rt_sigpending(struct thread *t, const uint64_t a[6])
{
	uint64_t set = (t->sig_pending | t->proc->sig_pending) & t->sigmask;

	if (a[1] > KSIGSET_SIZE)
		return -EINVAL;
	return copy_to_user(t->dom, a[0], &set, (size_t)a[1]);
}

static long sys_sigaltstack(struct thread *t, const uint64_t a[6])
{
	uint64_t sp = t->regs.rsp;
	struct kstack ss, old;

	if (a[0] && copy_from_user(t->dom, &ss, a[0], sizeof(ss)))
		return -EFAULT;
	memset(&old, 0, sizeof(old));
	old.ss_sp = t->ss_sp;
	old.ss_size = t->ss_size;
	old.ss_flags = (int32_t)sig_altstack_flags(t, sp);
	if (a[0]) {
		int r = sig_altstack_set(t, sp, &ss);
		if (r)
			return r;
	}
	if (a[1] && copy_to_user(t->dom, a[1], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

/* ---- sending ---- */


/* kill(2)'s targets: pid > 0 one process, 0 the caller's group, -1 every
 * process but the first one and the caller, < -1 the group -pid. Returns
 * how many were found (zombies count, as on Linux: the signal is dropped). */
static int kill_targets(struct thread *t, int64_t pid, int sig)
{
	struct domain *d = t->dom;
	int found = 0;
	struct ksiginfo i = sig_info_user(t->dom, sig, KSI_USER, t->proc->pid);

	for (int k = 0; k < MAX_PROCS; k++) {
		struct process *p = d->procs[k];
		bool hit;

		if (!p)
			continue;
		if (pid > 0)
			hit = p->pid == pid;
		else if (pid == 0)
			hit = p->pgid == t->proc->pgid;
		else if (pid == -1)
			hit = p != d->init && p != t->proc;
		else
			hit = p->pgid == -pid;
		if (!hit)
			continue;
		found++;
		if (sig)
			sig_send_process(p, &i);
	}
	return found;
}

static long sys_kill(struct thread *t, const uint64_t a[6])
{
	int64_t pid = (int32_t)a[0];

	if (a[1] > NSIG_K)
		return -EINVAL;
	if (pid == INT32_MIN)
		return -ESRCH;
	return kill_targets(t, pid, (int)a[1]) ? 0 : -ESRCH;
}

static long do_tkill(struct thread *t, int64_t tgid, int64_t tid, uint64_t sig)
{
	struct domain *d = t->dom;

	if (tid <= 0 || sig > NSIG_K)
		return -EINVAL;
	struct thread *o = thread_find(d, (int)tid);
	if (!o || (tgid >= 0 && tgid != o->proc->pid))
		return -ESRCH;
	if (sig == 0)
		return 0;
	struct ksiginfo i = sig_info_user(t->dom, (int)sig, KSI_TKILL, t->proc->pid);
	sig_send_thread(o, &i);
	return 0;
}

static long sys_tgkill(struct thread *t, const uint64_t a[6])
{
	if ((int32_t)a[0] <= 0)
		return -EINVAL;
	return do_tkill(t, (int32_t)a[0], (int32_t)a[1], a[2]);
}

static long sys_tkill(struct thread *t, const uint64_t a[6])
{
	return do_tkill(t, -1, (int32_t)a[0], a[1]);
}

/* rt_sigqueueinfo / rt_tgsigqueueinfo: the caller's siginfo, whose si_code
 * must be negative (a user code) unless it signals itself. */
static long queueinfo(struct thread *t, struct process *proc, struct thread *target, uint64_t sig,
		      uint64_t uinfo)
{
	struct ksiginfo i;

	if (!valid_sig(sig))
		return -EINVAL;
	if (copy_from_user(t->dom, &i, uinfo, sizeof(i)))
		return -EFAULT;
	/* Linux compares the target id with the caller's thread id. */
	if (i.code >= 0 && (target ? target != t : proc->pid != t->tid))
		return -EPERM;
	i.signo = (int32_t)sig;
	if (target)
		sig_send_thread(target, &i);
	else
		sig_send_process(proc, &i);
	return 0;
}

static long sys_rt_sigqueueinfo(struct thread *t, const uint64_t a[6])
{
	struct process *p = (int32_t)a[0] > 0 ? proc_find(t->dom, (int32_t)a[0]) : NULL;

	if (!p)
		return -ESRCH;
	return queueinfo(t, p, NULL, a[1], a[2]);
}

static long sys_rt_tgsigqueueinfo(struct thread *t, const uint64_t a[6])
{
	struct thread *o;

	if ((int32_t)a[0] <= 0 || (int32_t)a[1] <= 0)
		return -EINVAL;
	if (!(o = thread_find(t->dom, (int32_t)a[1])) || o->proc->pid != (int32_t)a[0])
		return -ESRCH;
	return queueinfo(t, o->proc, o, a[2], a[3]);
}

static long sys_rt_sigreturn(struct thread *t, const uint64_t a[6])
{
	(void)a;
	return sig_return(t);
}

/* ---- waiting for signals ---- */

/* Sleeps once until a wake-up (a signal, a pause, the end) or until the
 * host CLOCK_MONOTONIC deadline (ns, 0: none). Returns false on timeout. */
static bool wait_once(struct thread *t, uint64_t deadline)
{
	struct domain *d = t->dom;
	struct futex_waiter w = { 0 };
	int e;

	futex_waiter_link(d, &w, FUTEX_KEY_NONE);
	t->waiting = &w;
	if (deadline) {
		struct timespec ts = mono_timespec(deadline);
		e = pthread_cond_timedwait(&w.cv, &d->lock, &ts);
	} else {
		e = pthread_cond_wait(&w.cv, &d->lock);
	}
	t->waiting = NULL;
	futex_waiter_unlink(d, &w);
	return e != ETIMEDOUT;
}

long sig_mask_swap_in(struct thread *t, gva_t umask, uint64_t size)
{
	uint64_t mask;

	if (!umask)
		return 0;
	if (size != KSIGSET_SIZE)
		return -EINVAL;
	if (copy_from_user(t->dom, &mask, umask, sizeof(mask)))
		return -EFAULT;
	t->saved_sigmask = t->sigmask;
	t->restore_sigmask = true;
	t->sigmask = mask & ~SIG_UNBLOCKABLE;
	return 0;
}

long sig_mask_swap_out(struct thread *t, long ret)
{
	struct domain *d = t->dom;

	if (!t->restore_sigmask)
		return ret;
	/* Interrupted by a signal (not by a pause): sig_deliver restores. */
	if (ret == -ERESTART_SYSCALL && !d->paused && sig_deliverable(t))
		return ret;
	t->sigmask = t->saved_sigmask;
	t->restore_sigmask = false;
	return ret;
}

/* pause and sigsuspend: sleep until a signal is delivered, then -EINTR.
 * Linux's -ERESTARTNOHAND: EINTR once a handler runs; a signal that runs
 * none (a stop, then SIGCONT; one ignored) re-issues the call, as does a
 * snapshot pause (with the mask put back first). */
static long suspend_until_signal(struct thread *t)
{
	struct domain *d = t->dom;

	for (;;) {
		if (d->exiting || t->proc->exiting)
			return -EINTR;
		if (sig_deliverable(t))
			return -ERESTART_SYSCALL;
		if (d->paused)
			return sig_mask_swap_out(t, -ERESTART_SYSCALL);
		wait_once(t, 0);
	}
}

static long sys_pause(struct thread *t, const uint64_t a[6])
{
	(void)a;
	return suspend_until_signal(t);
}

static long sys_rt_sigsuspend(struct thread *t, const uint64_t a[6])
{
	if (a[1] != KSIGSET_SIZE)
		return -EINVAL;
	if (!a[0])
		return -EFAULT;
	long r = sig_mask_swap_in(t, a[0], a[1]);
	return r ? r : suspend_until_signal(t);
}

/* Takes a pending signal of `set` (thread-directed first). */
static int take_from(struct thread *t, uint64_t set, struct ksiginfo *info)
{
	uint64_t m = t->sig_pending & set;

	if (m) {
		int sig = __builtin_ctzll(m) + 1;
		t->sig_pending &= ~SIGBIT(sig);
		*info = t->sig_info[sig - 1];
		return sig;
	}
	m = t->proc->sig_pending & set;
	if (m) {
		int sig = __builtin_ctzll(m) + 1;
		t->proc->sig_pending &= ~SIGBIT(sig);
		*info = t->proc->sig_info[sig - 1];
		return sig;
	}
	return 0;
}

static long do_sigtimedwait(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	uint64_t set, deadline = 0, gdeadline = 0;
	struct ksiginfo info;
	int sig;

	if (a[3] != KSIGSET_SIZE)
		return -EINVAL;
	if (copy_from_user(d, &set, a[0], sizeof(set)))
		return -EFAULT;
	set &= ~SIG_UNBLOCKABLE;
	if (a[2]) {
		struct { int64_t s, ns; } ts;
		if (copy_from_user(d, &ts, a[2], sizeof(ts)))
			return -EFAULT;
		if (ts.s < 0 || ts.ns < 0 || ts.ns >= 1000000000L)
			return -EINVAL;
		uint64_t rel = (uint64_t)ts.s > 100000000000ULL ? UINT64_MAX / 4
				: (uint64_t)ts.s * 1000000000ULL + (uint64_t)ts.ns;
		uint64_t g;
		if (restart_pending(t, &g))
			gdeadline = g;
		else
			gdeadline = guest_mono_ns(d) + rel;
	}
	/* Its signals wake it even while blocked, as Linux's real_blocked. */
	t->sigwait_set = set;
	for (;;) {
		sig = take_from(t, set, &info);
		if (sig) {
			if (d->rr)
				d->rr->signal_begin(t, sig, &info, true);
			break;
		}
		if (d->exiting || t->proc->exiting)
			return -EINTR;
		/* Another unblocked signal ends the wait with EINTR, whether
		 * a handler runs or not: a stop ends it too (signal(7)). */
		if (sig_deliverable(t))
			return -EINTR;
		if (d->paused)
			return a[2] ? restart_at(t, gdeadline) : -ERESTART_SYSCALL;
		if (a[2]) {
			uint64_t now = guest_mono_ns(d);
			if (now >= gdeadline)
				return -EAGAIN;
			deadline = host_mono_ns() + (gdeadline - now);
		}
		wait_once(t, deadline);
	}
	t->restart.valid = false;
	if (a[1] && copy_to_user(d, a[1], &info, sizeof(info)))
		return -EFAULT;
	return sig;
}

static long sys_rt_sigtimedwait(struct thread *t, const uint64_t a[6])
{
	long r = do_sigtimedwait(t, a);
	t->sigwait_set = 0;
	return r;
}

const struct syscall_desc sys_signal_table[] = {
	{ SYS_rt_sigaction, "rt_sigaction", sys_rt_sigaction },
	{ SYS_rt_sigprocmask, "rt_sigprocmask", sys_rt_sigprocmask },
	{ SYS_rt_sigpending, "rt_sigpending", sys_rt_sigpending },
	{ SYS_sigaltstack, "sigaltstack", sys_sigaltstack },
	{ SYS_kill, "kill", sys_kill },
	{ SYS_tgkill, "tgkill", sys_tgkill },
	{ SYS_tkill, "tkill", sys_tkill },
	{ SYS_rt_sigqueueinfo, "rt_sigqueueinfo", sys_rt_sigqueueinfo },
	{ SYS_rt_tgsigqueueinfo, "rt_tgsigqueueinfo", sys_rt_tgsigqueueinfo },
	{ SYS_rt_sigreturn, "rt_sigreturn", sys_rt_sigreturn },
	{ SYS_pause, "pause", sys_pause },
	{ SYS_rt_sigsuspend, "rt_sigsuspend", sys_rt_sigsuspend },
	{ SYS_rt_sigtimedwait, "rt_sigtimedwait", sys_rt_sigtimedwait },
	{ -1, NULL, NULL },
};
