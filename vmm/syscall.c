/* syscall.c: dispatches guest system calls to the family tables. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "crew.h"
#include "domain.h"
#include "gfilter.h"
#include "rr.h"
#include "syscall.h"

#define NR_MAX 512

static const struct syscall_desc *table[NR_MAX];
static bool trace;

void syscall_init(void)
{
	static const struct syscall_desc *const families[] = {
		sys_file_table, sys_mem_table, sys_thread_table, sys_time_table, sys_misc_table,
		sys_poll_table, sys_signal_table, sys_timer_table, sys_proc_table, sys_net_table,
		sys_epoll_table, sys_evfd_table, sys_fs_table, sys_fd_table, sys_fork_table,
		sys_exec_table, sys_wait_table, sys_sched_table, sys_priv_table, sys_xattr_table,
		sys_splice_table, sys_memfd_table, sys_pidfd_table, sys_ptrace_table,
	};
	for (size_t f = 0; f < ARRAY_SIZE(families); f++)
		for (const struct syscall_desc *s = families[f]; s->nr >= 0; s++)
			if (s->nr < NR_MAX)
				table[s->nr] = s;
	/* PDVM_STRACE=1: one line per call on stderr, for debugging pdvm. */
	const char *e = getenv("PDVM_STRACE");
	trace = e && *e && *e != '0';
}

const char *syscall_name(int nr)
{
	return nr >= 0 && nr < NR_MAX && table[nr] ? table[nr]->name : "unknown";
}

const struct syscall_desc *syscall_lookup(int nr)
{
	return nr >= 0 && nr < NR_MAX ? table[nr] : NULL;
}

/* Whether call nr was already reported in the domain's log (and marks it
 * reported): the log names each unknown or refused call once. A call is
 * either unknown or has a handler, so one bitmap serves both. */
static bool reported(struct domain *d, uint64_t nr)
{
	uint64_t bit = nr < 512 ? nr : 511;
	if (d->syscalls_reported[bit / 64] & (1ULL << (bit % 64)))
		return true;
	d->syscalls_reported[bit / 64] |= 1ULL << (bit % 64);
	return false;
}

static void report_unknown(struct domain *d, uint64_t nr)
{
	if (!reported(d, nr))
		dom_log(d, "unsupported syscall %llu: returning ENOSYS (reported once)", (unsigned long long)nr);
}

long syscall_refuse(struct thread *t, int nr, long err, const char *why)
{
	if (!reported(t->dom, (uint64_t)nr)) {
		const char *e = strerrorname_np((int)-err);
		dom_log(t->dom, "%s: %s, %s (%s; reported once)", syscall_name(nr),
			err == -ENOSYS ? "absent" : "refused", e ? e : "?", why);
	}
	return err;
}

static bool is_write_call(uint64_t nr)
{
	return nr == SYS_write || nr == SYS_writev || nr == SYS_pwrite64 || nr == SYS_pwritev ||
	       nr == SYS_sendfile;
}

bool restart_pending(struct thread *t, uint64_t *deadline_ns)
{
	/* RIP is already past the `syscall`; the restart recorded that too. */
	if (!t->restart.valid || t->restart.rip != t->regs.rip || t->restart.nr != t->regs.rax)
		return false;
	*deadline_ns = t->restart.deadline_ns;
	return true;
}

long restart_at(struct thread *t, uint64_t deadline_ns)
{
	t->restart.valid = true;
	t->restart.rip = t->regs.rip;
	t->restart.nr = t->regs.rax;
	t->restart.deadline_ns = deadline_ns;
	return -ERESTART_SYSCALL;
}

long syscall_dispatch(struct thread *t)
{
	struct kvm_regs *r = &t->regs;
	uint64_t nr = r->rax;
	const uint64_t a[6] = { r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9 };
	long ret;
	t->intr.valid = false;
	const struct rr_ops *rr = t->dom->rr;
	rr_pos_enter(t);
	if (rr && rr->enter(t, nr, a, &ret)) {
		/* Replay answered it from the trace. */
	} else if (t->dom->gfilter && !gfilter_apply(t, nr, a, &ret)) {
		/* The operator's profile answered: the call is not made. */
	} else if (nr < NR_MAX && table[nr]) {
		ret = table[nr]->fn(t, a);
	} else {
		report_unknown(t->dom, nr);
		ret = -ENOSYS;
	}
	if (trace)
		fprintf(stderr, "[%d] %s(%#llx, %#llx, %#llx, %#llx) = %ld\n", t->tid, syscall_name((int)nr),
			(unsigned long long)a[0], (unsigned long long)a[1], (unsigned long long)a[2],
			(unsigned long long)a[3], ret);
	if (rr && ret != -ERESTART_SYSCALL)
		rr->leave(t, nr, a, ret);
	if (ret != -ERESTART_SYSCALL)
		rr_pos_leave(t);
	if (nr == SYS_rt_sigreturn)
		return ret; /* every register came from the signal frame */
	if (ret != -ERESTART_SYSCALL)
		t->restart.valid = false;
	if (ret == -ERESTART_SYSCALL) {
		/* Re-issue the call when the thread next runs: RIP back onto the
		 * two-byte `syscall`, RAX back to the number. A signal handler
		 * may turn that into -EINTR (vmm/ksignal.c). */
		r->rip -= 2;
		r->rax = nr;
		sig_note_interrupted(t, nr, a);
		return ret;
	}
	syscall_raise_sigpipe(t, nr, ret);
	r->rax = (uint64_t)ret;
	return ret;
}

void syscall_raise_sigpipe(struct thread *t, uint64_t nr, long ret)
{
	/* A write to a pipe nobody reads raises SIGPIPE (the default action
	 * ends the program, as on Linux). */
	if (ret == -EPIPE && is_write_call(nr)) {
		struct ksiginfo i = sig_info_user(t->dom, SIGPIPE, KSI_USER, t->dom->pid);
		sig_send_thread(t, &i);
	}
}
