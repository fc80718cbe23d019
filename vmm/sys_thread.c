/* sys_thread.c: threads and futexes — clone, exit, set_tid_address, futex (the operations are vmm/futex.c), rseq. */
#include <errno.h>
#include <string.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>

#include "crew.h"
#include "domain.h"
#include "files.h"
#include "futex.h"
#include "syscall.h"
#include "uaccess.h"

/* A thread shares the process's fd table (kept per process here); without
 * CLONE_FS it gets its own working directory and umask. */
#define CLONE_THREAD_FLAGS (CLONE_VM | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)
#define CLONE_ALLOWED (CLONE_THREAD_FLAGS | CLONE_FS | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | \
		       CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | CLONE_DETACHED | 0xff)

static long do_clone(struct thread *t, uint64_t flags, gva_t newsp, gva_t ptid, gva_t ctid, gva_t tls)
{
	struct domain *d = t->dom;
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
	/* Record/replay: from the second thread on, each runs on its own
	 * page-table view (vmm/crew.c). */
	if (d->rr && (err = crew_activate(t)))
		return err;
	struct thread *c = thread_create(d, &err);
	if (!c)
		return err;
	c->tid = d->next_tid++;
	if (d->crew && (err = crew_thread_new(c))) {
		clone_abort(c);
		return err;
	}
	if ((err = clone_cpu_state(t, c, flags, newsp, tls)))
		goto fail;
	if ((err = fs_clone(t, c, flags & CLONE_FS)))
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
	int ev = ptrace_clone(t, c, flags);
	if ((err = thread_start(c)))
		goto fail;
	if (ev)
		ptrace_event(t, ev, (uint64_t)c->tid);
	return c->tid;
fail:
	clone_abort(c);
	return err;
}

static long sys_clone(struct thread *t, const uint64_t a[6])
{
	return do_clone(t, a[0], a[1], a[2], a[3], a[4]);
}

/* struct clone_args as of Linux 5.7 (CLONE_ARGS_SIZE_VER2). */
struct clone_args_k {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size, cgroup;
};
#define CLONE_ARGS_SIZE_VER0 64
#define CLONE_CLEAR_SIGHAND_K 0x100000000ULL
#define CLONE_INTO_CGROUP_K   0x200000000ULL
#define MAX_PID_NS_LEVEL      32

/* clone3: clone's arguments in a struct (copy_clone_args_from_user and
 * clone3_args_valid's checks), the stack given as base and size. */
static long sys_clone3(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	struct clone_args_k k;
	uint64_t size = a[1];

	if (size < CLONE_ARGS_SIZE_VER0)
		return -EINVAL;
	if (size > PAGE_SIZE)
		return -E2BIG;
	memset(&k, 0, sizeof(k));
	if (copy_from_user(d, &k, a[0], MIN(size, sizeof(k))))
		return -EFAULT;
	/* A newer struct: what this one does not know must be zero. */
	for (uint64_t off = sizeof(k); off < size; off++) {
		uint8_t b;
		if (copy_from_user(d, &b, a[0] + off, 1))
			return -EFAULT;
		if (b)
			return -E2BIG;
	}
	if (k.set_tid_size > MAX_PID_NS_LEVEL || (!k.set_tid && k.set_tid_size) || (k.set_tid && !k.set_tid_size))
		return -EINVAL;
	if ((k.exit_signal & ~(uint64_t)CSIGNAL) || k.exit_signal > NSIG_K)
		return -EINVAL;
	if ((k.flags & ~(uint64_t)(0xffffffffULL | CLONE_CLEAR_SIGHAND_K | CLONE_INTO_CGROUP_K)) ||
	    (k.flags & CSIGNAL))
		return -EINVAL;
	if ((k.flags & (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND_K)) == (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND_K))
		return -EINVAL;
	if ((k.flags & (CLONE_THREAD | CLONE_PARENT)) && k.exit_signal)
		return -EINVAL;
	if ((k.stack && (!k.stack_size || k.stack_size > USER_MAX || k.stack > USER_MAX - k.stack_size)) ||
	    (!k.stack && k.stack_size))
		return -EINVAL;
	if (k.set_tid_size)
		return -EPERM; /* choosing pids needs CAP_SYS_ADMIN */
	/* pidfds and cgroups at birth are not done: ENOSYS, as before, so a
	 * caller falls back to clone and pidfd_open as on an older kernel. */
	if (k.flags & (CLONE_PIDFD | CLONE_INTO_CGROUP_K))
		return -ENOSYS;
	long r = do_clone(t, (k.flags & ~CLONE_CLEAR_SIGHAND_K) | k.exit_signal,
			  k.stack ? k.stack + k.stack_size : 0, k.parent_tid, k.child_tid, k.tls);
	struct process *c = r > 0 && (k.flags & CLONE_CLEAR_SIGHAND_K) ? proc_find(d, (int)r) : NULL;
	/* The child's handlers go back to their defaults; ignored stays
	 * ignored (posix_spawn asks for this). It has yet to take a signal:
	 * those are delivered under the domain lock, held here. */
	for (int i = 0; c && i < NSIG_K; i++)
		if (c->sigactions[i].handler != KSIG_IGN)
			memset(&c->sigactions[i], 0, sizeof(c->sigactions[i]));
	return r;
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

/* FUTEX_WAIT(_BITSET)'s arguments, checked in Linux's order: the bitset,
 * then the timeout (a guest timespec, 0: none). */
static long sys_futex_wait(struct thread *t, gva_t uaddr, uint32_t val, gva_t utime, uint32_t bitset,
			   bool absolute, clockid_t clk)
{
	struct timespec ts;
	if (!bitset)
		return -EINVAL;
	if (utime) {
		if (copy_from_user(t->dom, &ts, utime, sizeof(ts)))
			return -EFAULT;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= NSEC_PER_SEC)
			return -EINVAL;
	}
	return futex_wait(t, uaddr, val, utime ? &ts : NULL, bitset, absolute, clk);
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
		return sys_futex_wait(t, a[0], val, a[3], ~0u, false, CLOCK_MONOTONIC);
	case FUTEX_WAIT_BITSET:
		return sys_futex_wait(t, a[0], val, a[3], (uint32_t)a[5], true,
				      realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC);
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET: {
		uint32_t bits = cmd == FUTEX_WAKE ? ~0u : (uint32_t)a[5];
		if (!bits)
			return -EINVAL;
		return futex_wake(d, a[0], (int)MIN(val, (uint32_t)INT32_MAX), bits);
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

/* ---- rseq ---- */

#define RSEQ_FLAG_UNREGISTER_K 1
#define RSEQ_ORIG_SIZE         32      /* struct rseq as first defined, and its alignment */

/*
 * Restartable sequences are not offered: every registration is refused
 * with EPERM, once the arguments are checked as Linux checks them (EINVAL
 * for unknown flags, a length under 32, an area not 32-byte aligned, an
 * unregistration of what is not registered; EFAULT for an area outside
 * user memory). The domain's log says so once (syscall_refuse).
 *
 * Why: an rseq critical section works on per-CPU data and relies on the
 * kernel aborting it whenever its thread is preempted or migrated (and on
 * signal delivery). pdvm could abort on delivery, and could write the CPU
 * getcpu reports into cpu_id, but a vCPU thread's preemption and migration
 * by the host happen inside KVM_RUN, where pdvm never learns of them: two
 * guest threads could then run the same CPU's critical section at once and
 * both commit (tcmalloc's per-CPU caches, librseq users). A refusal keeps
 * programs correct: glibc (2.35 on registers every thread) takes any error
 * as "no rseq" and its sched_getcpu asks getcpu instead; rseq users fall
 * back to their locked paths. ENOSYS would say the same to glibc, but the
 * call exists; EPERM is what a sandbox that denies it answers.
 */
static long sys_rseq(struct thread *t, const uint64_t a[6])
{
	gva_t area = a[0];
	uint32_t len = (uint32_t)a[1];
	int flags = (int)a[2];

	if (flags & RSEQ_FLAG_UNREGISTER_K)
		return -EINVAL;         /* unknown flags, or nothing registered */
	if (flags)
		return -EINVAL;
	if (len < RSEQ_ORIG_SIZE || (area & (RSEQ_ORIG_SIZE - 1)))
		return -EINVAL;
	if (area > USER_MAX || len > USER_MAX - area)
		return -EFAULT;
	return syscall_refuse(t, SYS_rseq, -EPERM, "pdvm cannot see the host preempt or migrate a vCPU thread, "
			      "so it could not abort critical sections as Linux does; glibc runs without rseq");
}

const struct syscall_desc sys_thread_table[] = {
	{ SYS_clone, "clone", sys_clone },
	{ SYS_clone3, "clone3", sys_clone3 },
	{ SYS_exit, "exit", sys_exit },
	{ SYS_exit_group, "exit_group", sys_exit_group },
	{ SYS_set_tid_address, "set_tid_address", sys_set_tid_address },
	{ SYS_futex, "futex", sys_futex },
	{ SYS_rseq, "rseq", sys_rseq },
	{ -1, NULL, NULL },
};
