/* ptrace.c: tracing between a domain's threads — links, ptrace-stops and what the tracer's wait sees — with Linux's semantics (kernel/ptrace.c, kernel/signal.c). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "domain.h"
#include "jobctl.h"
#include "ptrace.h"
#include "syscall.h"
#include "trap.h"

/*
 * A tracee is a thread (struct thread's pt); its tracer is a thread of
 * another process of the same domain, named by tid, and every thread of
 * the tracer's process may wait for its stops (without __WNOTHREAD).
 *
 * A ptrace-stop is a wait of the tracee's own host thread, the domain lock
 * released and the user state in t->regs, as a job-control stop is
 * (thread_stop): it counts as parked, so that a pause need not wait for
 * it. The tracer reads and writes t->regs and the vCPU's FPU state while
 * the tracee waits there, and resumes it by clearing pt.stopped.
 *
 * Stops come from the paths a tracee goes through anyway: its system call
 * trap (syscall-enter and -exit stops), sig_deliver (signal-delivery-stops,
 * and the trap stops of PTRACE_INTERRUPT, attach and auto-attach), the
 * group stop (thread_stop), clone, execve and exit (event stops), and its
 * CPU exceptions (int3, single-step), which become forced SIGTRAPs.
 */

/* PTRACE_O_*: an event's option is 1 << its PT_EVENT_* (fork, vfork, clone,
 * exec, vfork-done, exit). */
#define PT_O_TRACESYSGOOD 0x1
#define PT_O_TRACEEXEC    0x10
#define PT_O_EXITKILL     (1u << 20)
#define CLD_TRAPPED_K     4
#define TRAP_TRACE_K      2
#define EFLAGS_TF         0x100ULL

int ptrace_any(struct domain *d)
{
	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *o = d->threads[i];
		if (o && !o->exited && ptrace_traced(&o->pt))
			return o->tid;
	}
	/* Ends a tracer has yet to reap count as well. */
	for (int i = 0; i < MAX_THREADS; i++)
		if (d->pt_zombies[i].tid)
			return d->pt_zombies[i].tid;
	for (int i = 0; i < MAX_PROCS; i++)
		if (d->procs[i] && d->procs[i]->ptrace_reaper)
			return d->procs[i]->pid;
	return 0;
}

/* The tracer's process hears of each stop as Linux's
 * do_notify_parent_cldstop(for_ptracer) tells it: SIGCHLD with
 * CLD_TRAPPED unless it ignores SIGCHLD or set SA_NOCLDSTOP. Its waits
 * wake up either way. */
static void notify_tracer(struct thread *t)
{
	struct domain *d = t->dom;
	struct process *tp = proc_find(d, t->pt.tracer_pid);

	if (tp && !tp->zombie && !tp->exiting)
		jobctl_sigchld(tp, CLD_TRAPPED_K, t->tid, t->pt.code);
	proc_wake_waiters(d);
}

/* Waits in the stop already recorded in t->pt until the tracer resumes or
 * detaches t, or t's process or the domain ends. */
static void pt_wait(struct thread *t)
{
	struct domain *d = t->dom;
	struct pt_state *s = &t->pt;

	t->parked = true;
	d->nparked++;
	pthread_cond_broadcast(&d->parked_cv);
	while ((s->stopped || d->paused) && ptrace_traced(s) && !d->exiting && !t->proc->exiting)
		pthread_cond_wait(&d->park_cv, &d->lock);
	d->nparked--;
	t->parked = false;
	s->stopped = false;
	s->listening = false;
	/* The tracer may have changed any register. */
	t->regs_dirty = true;
}

/* t stops for its tracer with wait code `code` (status >> 8). */
static void pt_stop(struct thread *t, enum pt_kind kind, int code)
{
	struct pt_state *s = &t->pt;

	if (!ptrace_traced(s) || t->dom->exiting || t->proc->exiting)
		return;
	s->kind = kind;
	s->code = code;
	s->stopped = true;
	s->reported = false;
	s->resume_sig = 0;
	notify_tracer(t);
	pt_wait(t);
}

struct thread *ptrace_tracee(struct thread *t, int tid, bool stopped, long *err)
{
	struct thread *c = tid > 0 ? thread_find(t->dom, tid) : NULL;

	*err = -ESRCH;
	if (!c || c->pt.tracer != t->tid || c->proc->exiting)
		return NULL;
	if (stopped && (!c->pt.stopped || !c->parked))
		return NULL;
	*err = 0;
	return c;
}

long ptrace_attach(struct thread *t, struct thread *c, bool seize, bool traceme, uint32_t options)
{
	struct pt_state *s = &c->pt;

	if (c->proc == t->proc || c->proc->exiting || c->exited)
		return -EPERM;
	if (ptrace_traced(s))
		return -EPERM;
	memset(s, 0, sizeof(*s));
	s->tracer = t->tid;
	s->tracer_pid = t->proc->pid;
	s->seized = seize;
	s->options = options;
	s->orig_rax = (uint64_t)-1;
	dom_log(t->dom, "process %d: thread %d %s thread %d", t->proc->pid, t->tid,
		seize ? "seizes" : traceme ? "traces (TRACEME)" : "attaches to", c->tid);
	if (c->stopped) {
		/* In a group stop already: it becomes a ptrace-stop at once
		 * (JOBCTL_TRAP_STOP), reported to the tracer as the group stop
		 * (an event stop when seized). */
		int sig = c->proc->stop_sig ? c->proc->stop_sig : SIGSTOP;
		s->kind = PTS_GROUP;
		s->code = seize ? sig | PT_EVENT_STOP << 8 : sig;
		s->stopped = true;
		s->reported = false;
		pthread_cond_broadcast(&t->dom->park_cv);
		notify_tracer(c);
	} else if (!seize && !traceme) {
		struct ksiginfo i = sig_info_user(t->dom, SIGSTOP, KSI_USER, t->proc->pid);
		sig_send_thread(c, &i);
	}
	return 0;
}

void ptrace_detach(struct thread *c, int sig)
{
	struct pt_state *s = &c->pt;

	s->tracer = 0;
	s->tracer_pid = 0;
	s->resume_sig = sig;
	s->interrupt = false;
	s->in_syscall = false;
	if (s->mode == PT_STEP)
		c->regs.rflags &= ~EFLAGS_TF;
	s->mode = PT_RUN;
	/* A thread detached in a group stop stays stopped (Linux), unless the
	 * group stop is over. */
	c->stopped = c->stopped && c->proc->stopped;
	pthread_cond_broadcast(&c->dom->park_cv);
	proc_wake_waiters(c->dom);
}

void ptrace_resume(struct thread *c, enum pt_mode mode, int sig)
{
	struct pt_state *s = &c->pt;

	if (s->mode == PT_STEP && mode != PT_STEP)
		c->regs.rflags &= ~EFLAGS_TF;
	if (mode == PT_STEP)
		c->regs.rflags |= EFLAGS_TF;
	s->mode = mode;
	s->resume_sig = sig;
	s->stopped = false;
	/* A tracee resumed from a group stop runs on (Linux). */
	c->stopped = false;
	pthread_cond_broadcast(&c->dom->park_cv);
}

/* A seized tracee's trap stop (do_jobctl_trap): the group stop's signal
 * while the group stop lasts, SIGTRAP once it is over. */
static void relisten_report(struct thread *c)
{
	struct pt_state *s = &c->pt;
	int sig = c->proc->stopped && c->proc->stop_sig ? c->proc->stop_sig : SIGTRAP;

	s->interrupt = false;
	s->listening = false;
	s->kind = PTS_EVENT;
	s->code = sig | PT_EVENT_STOP << 8;
	s->reported = false;
	notify_tracer(c);
}

void ptrace_interrupt(struct thread *c)
{
	struct pt_state *s = &c->pt;

	if (s->stopped && !s->listening) {
		s->interrupt = true;       /* reported once it runs again */
		s->interrupt_code = SIGTRAP | PT_EVENT_STOP << 8;
		return;
	}
	if (s->listening) {
		/* A LISTENing tracee reports a new stop where it is. */
		relisten_report(c);
		return;
	}
	s->interrupt = true;
	s->interrupt_code = SIGTRAP | PT_EVENT_STOP << 8;
	sig_wake(c);
	sig_thread_poke(c->dom);
}

long ptrace_listen(struct thread *c)
{
	struct pt_state *s = &c->pt;

	if (!s->seized || !s->stopped || (s->code >> 8) != PT_EVENT_STOP)
		return -EIO;
	/* Stays stopped, reporting what comes meanwhile: a trap already due
	 * or the group stop's end is reported at once. */
	if (s->interrupt || !c->proc->stopped)
		relisten_report(c);
	else
		s->listening = true;
	return 0;
}

void ptrace_continued(struct process *p)
{
	struct domain *d = p->dom;

	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *o = d->threads[i];
		if (o && o->proc == p && !o->exited && o->pt.stopped && o->pt.listening)
			relisten_report(o);
	}
}

bool ptrace_syscall_enter(struct thread *t)
{
	struct pt_state *s = &t->pt;
	uint64_t nr = t->regs.rax;

	if (!ptrace_traced(s))
		return true;
	s->orig_rax = nr;
	s->at_exit = false;
	if (s->mode == PT_SYSCALL) {
		/* Linux's register view at the stop: RAX is -ENOSYS, the call
		 * is orig_rax, which the tracer may change (-1: skip it). */
		t->regs.rax = (uint64_t)-ENOSYS;
		s->in_syscall = true;
		pt_stop(t, PTS_SYSCALL, SIGTRAP | (s->options & PT_O_TRACESYSGOOD ? 0x80 : 0));
		if (t->dom->exiting || t->proc->exiting)
			return false;
		if ((int64_t)s->orig_rax == -1)
			return false;
		t->regs.rax = s->orig_rax;
		nr = s->orig_rax;
	}
	/* PTRACE_EVENT_EXIT: before the exit, its status as the message. */
	if (nr == SYS_exit_group || nr == SYS_exit)
		ptrace_event(t, PT_EVENT_EXIT, (t->regs.rdi & 0xff) << 8);
	return true;
}

void ptrace_syscall_exit(struct thread *t, long ret)
{
	struct pt_state *s = &t->pt;

	if (!ptrace_traced(s) || t->exited || t->proc->exiting || t->dom->exiting)
		return;
	if (s->mode == PT_SYSCALL && s->in_syscall) {
		s->in_syscall = false;
		s->at_exit = true;
		if (ret == -ERESTART_SYSCALL) {
			/* Linux stops at the exit with -ERESTARTSYS and the RIP
			 * after the call, then rewinds; pdvm rewound already. */
			uint64_t nr = t->regs.rax;
			t->regs.rip += 2;
			t->regs.rax = (uint64_t)-512;
			pt_stop(t, PTS_SYSCALL, SIGTRAP | (s->options & PT_O_TRACESYSGOOD ? 0x80 : 0));
			t->regs.rip -= 2;
			t->regs.rax = nr;
		} else {
			pt_stop(t, PTS_SYSCALL, SIGTRAP | (s->options & PT_O_TRACESYSGOOD ? 0x80 : 0));
		}
		s->at_exit = false;
	}
	if (s->mode == PT_STEP && ret != -ERESTART_SYSCALL) {
		/* A step over a system call ends after it (Linux's
		 * user_single_step_report). */
		struct ksiginfo i;
		memset(&i, 0, sizeof(i));
		i.signo = SIGTRAP;
		i.code = TRAP_TRACE_K;
		i.fault.addr = t->regs.rip;
		t->sig_pending |= SIGBIT(SIGTRAP);
		t->sig_info[SIGTRAP - 1] = i;
	}
}

int ptrace_signal(struct thread *t, int sig, struct ksiginfo *info)
{
	struct pt_state *s = &t->pt;

	if (!ptrace_traced(s) || sig == SIGKILL)
		return sig;
	s->info = *info;
	pt_stop(t, PTS_SIGNAL, sig);
	if (t->dom->exiting || t->proc->exiting)
		return 0;
	int nsig = s->resume_sig;
	if (!nsig || nsig < 1 || nsig > NSIG_K)
		return 0;
	/* The tracer's siginfo (SETSIGINFO) when it names the signal given;
	 * for another signal, one from the tracer (ptrace_signal). */
	if (s->info.signo == nsig)
		*info = s->info;
	else
		*info = sig_info_user(t->dom, nsig, KSI_USER, s->tracer_pid);
	if (t->sigmask & SIGBIT(nsig)) {
		/* Blocked: queued again, delivered once unblocked. */
		t->sig_pending |= SIGBIT(nsig);
		t->sig_info[nsig - 1] = *info;
		return 0;
	}
	return nsig;
}

void ptrace_trap_check(struct thread *t)
{
	struct pt_state *s = &t->pt;

	if (!s->interrupt)
		return;
	s->interrupt = false;
	if (!ptrace_traced(s))
		return;
	pt_stop(t, PTS_EVENT, s->interrupt_code);
}

bool ptrace_fault(struct thread *t, const struct trap *tr)
{
	struct pt_state *s = &t->pt;
	struct ksiginfo info;

	if (!ptrace_traced(s))
		return false;
	int sig = fault_siginfo(t, tr, &info);
	s->orig_rax = (uint64_t)-1;
	if (tr->vector == 1) {
		/* The single step's #DB: the flag was the tracer's. */
		info.code = TRAP_TRACE_K;
		info.fault.addr = t->regs.rip;
		if (s->mode == PT_STEP)
			t->regs.rflags &= ~EFLAGS_TF;
	}
	/* force_sig: a blocked or ignored fault signal gets its default. */
	struct sigaction_k *sa = &t->proc->sigactions[sig - 1];
	if ((t->sigmask & SIGBIT(sig)) || sa->handler == KSIG_IGN) {
		sa->handler = KSIG_DFL;
		t->sigmask &= ~SIGBIT(sig);
	}
	t->sig_pending |= SIGBIT(sig);
	t->sig_info[sig - 1] = info;
	t->regs_dirty = true;
	return true;
}

bool ptrace_group_stop(struct thread *t)
{
	struct pt_state *s = &t->pt;

	if (!ptrace_traced(s))
		return false;
	int sig = t->proc->stop_sig ? t->proc->stop_sig : SIGSTOP;
	pt_stop(t, PTS_GROUP, s->seized ? sig | PT_EVENT_STOP << 8 : sig);
	t->stopped = false;
	return true;
}

void ptrace_stopped_wait(struct thread *t)
{
	pt_wait(t);
	t->stopped = false;
}

int ptrace_clone(struct thread *t, struct thread *c, uint64_t flags)
{
	struct pt_state *s = &t->pt, *cs = &c->pt;
	int ev;

	if (!ptrace_traced(s))
		return 0;
	if (flags & 0x4000 /* CLONE_VFORK */)
		ev = PT_EVENT_VFORK;
	else if (!(flags & 0x10000 /* CLONE_THREAD */) && (flags & 0xff) == SIGCHLD)
		ev = PT_EVENT_FORK;
	else
		ev = PT_EVENT_CLONE;
	if (!(s->options & (1u << ev)))
		return 0;
	memset(cs, 0, sizeof(*cs));
	cs->tracer = s->tracer;
	cs->tracer_pid = s->tracer_pid;
	cs->seized = s->seized;
	cs->options = s->options;
	cs->orig_rax = (uint64_t)-1;
	if (s->seized) {
		cs->interrupt = true;
		cs->interrupt_code = SIGTRAP | PT_EVENT_STOP << 8;
	} else {
		c->sig_pending |= SIGBIT(SIGSTOP);
		c->sig_info[SIGSTOP - 1] = sig_info_user(t->dom, SIGSTOP, KSI_USER, 0);
	}
	return ev;
}

void ptrace_event(struct thread *t, int event, uint64_t msg)
{
	struct pt_state *s = &t->pt;

	if (!ptrace_traced(s) || !(s->options & (1u << event)))
		return;
	s->eventmsg = msg;
	pt_stop(t, PTS_EVENT, SIGTRAP | event << 8);
}

void ptrace_exec(struct thread *t, int old_tid)
{
	struct pt_state *s = &t->pt;

	if (!ptrace_traced(s))
		return;
	if (s->options & PT_O_TRACEEXEC) {
		ptrace_event(t, PT_EVENT_EXEC, (uint64_t)old_tid);
		return;
	}
	if (!s->seized) {
		struct ksiginfo i = sig_info_user(t->dom, SIGTRAP, KSI_USER, 0);
		sig_send_thread(t, &i);
	}
}

static void zombie_add(struct domain *d, struct thread *t, int32_t wstatus)
{
	for (int i = 0; i < MAX_THREADS; i++) {
		struct pt_zombie *z = &d->pt_zombies[i];
		if (!z->tid) {
			z->tid = t->tid;
			z->tracer_pid = t->pt.tracer_pid;
			z->pgid = t->proc->pgid;
			z->wstatus = wstatus;
			return;
		}
	}
}

void ptrace_thread_gone(struct thread *t)
{
	struct domain *d = t->dom;
	struct pt_state *s = &t->pt;

	if (ptrace_traced(s)) {
		struct process *p = t->proc;
		/* The leader's end is its process's: the zombie process is
		 * reported to the tracer first. Another thread is a zombie
		 * of its own for the tracer (exit_notify). */
		if (t->tid == p->pid)
			p->ptrace_reaper = s->tracer_pid;
		else if (!d->exiting)
			zombie_add(d, t, p->exiting ? p->wstatus : 0);
		s->tracer = 0;
		s->tracer_pid = 0;
		proc_wake_waiters(d);
	}
	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *o = d->threads[i];
		if (!o || o == t || o->pt.tracer != t->tid)
			continue;
		if (o->pt.options & PT_O_EXITKILL)
			proc_exit_group(o->proc, SIGKILL);
		else
			ptrace_detach(o, 0);
	}
}

void ptrace_proc_gone(struct process *p)
{
	struct domain *d = p->dom;

	for (int i = 0; i < MAX_PROCS; i++) {
		struct process *q = d->procs[i];
		if (q && q != p && q->ptrace_reaper == p->pid)
			proc_zombie_released(q);
	}
	for (int i = 0; i < MAX_THREADS; i++)
		if (d->pt_zombies[i].tracer_pid == p->pid)
			memset(&d->pt_zombies[i], 0, sizeof(d->pt_zombies[i]));
}

static bool matches(int which, int id, int tid, int pgid)
{
	return which == 2 || (which == 0 && tid == id) || (which == 1 && pgid == id);
}

bool ptrace_wait_find(struct thread *t, int which, int id, bool nothread, bool *any, struct pt_report *r)
{
	struct domain *d = t->dom;

	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *o = d->threads[i];
		if (!o || o->exited || !ptrace_traced(&o->pt) || o->pt.tracer_pid != t->proc->pid)
			continue;
		if (nothread && o->pt.tracer != t->tid)
			continue;
		if (!matches(which, id, o->tid, o->proc->pgid))
			continue;
		*any = true;
		if (o->pt.stopped && !o->pt.reported && !o->pt.listening) {
			memset(r, 0, sizeof(*r));
			r->tid = o->tid;
			r->status = o->pt.code << 8 | 0x7f;
			r->cld = CLD_TRAPPED_K;
			r->child_status = o->pt.code;
			return true;
		}
	}
	for (int i = 0; i < MAX_THREADS; i++) {
		struct pt_zombie *z = &d->pt_zombies[i];
		if (!z->tid || z->tracer_pid != t->proc->pid || !matches(which, id, z->tid, z->pgid))
			continue;
		*any = true;
		memset(r, 0, sizeof(*r));
		r->tid = z->tid;
		r->status = z->wstatus;
		r->exited = true;
		r->cld = WIFEXITED(z->wstatus) ? CLD_EXITED : CLD_KILLED;
		r->child_status = WIFEXITED(z->wstatus) ? WEXITSTATUS(z->wstatus) : WTERMSIG(z->wstatus);
		return true;
	}
	return false;
}

void ptrace_wait_consume(struct domain *d, const struct pt_report *r)
{
	if (r->exited) {
		for (int i = 0; i < MAX_THREADS; i++)
			if (d->pt_zombies[i].tid == r->tid)
				memset(&d->pt_zombies[i], 0, sizeof(d->pt_zombies[i]));
		return;
	}
	struct thread *c = thread_find(d, r->tid);
	if (c)
		c->pt.reported = true;
}
