/* sys_wait.c: wait4 and waitid — reaping zombie children, and reporting stopped and continued ones. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain.h"
#include "files.h"
#include "ktimer.h"
#include "pidfd.h"
#include "syscall.h"
#include "uaccess.h"

#define KWNOHANG    1
#define KWUNTRACED  2
#define KWEXITED    4
#define KWCONTINUED 8
#define KWNOWAIT    0x01000000
#define KWNOTHREAD  0x20000000
#define KWALL       0x40000000
#define KWCLONE     0x80000000

enum { WHICH_PID, WHICH_PGID, WHICH_ALL };

/* What a wait reports of a child (wait_consider_task's order). */
enum wait_event { EV_EXITED = 1, EV_STOPPED, EV_CONTINUED, EV_PTRACE };

/* The event a child c has for a wait with `options` (KWEXITED, KWUNTRACED,
 * KWCONTINUED), or 0: its end; a group stop not yet reported; a continue
 * not yet reported. */
static int child_event(const struct process *c, int options, int me)
{
	/* A traced leader's end goes to its tracer first. */
	if (c->zombie)
		return options & KWEXITED && (!c->ptrace_reaper || c->ptrace_reaper == me) ? EV_EXITED : 0;
	if ((options & KWUNTRACED) && c->stopped && c->stop_sig)
		return EV_STOPPED;
	if ((options & KWCONTINUED) && c->continued)
		return EV_CONTINUED;
	return 0;
}

/* Looks for a child of t's process matching (which, id) with an event to
 * report (*ev), or a tracee of t's with a stop or an end (*pr, *ev
 * EV_PTRACE: vmm/ptrace.c). Returns the child, or NULL with *any saying
 * whether a matching child or tracee exists. */
static struct process *find_child(struct thread *t, int which, int id, int options, bool *any, int *ev,
				  struct pt_report *pr)
{
	struct domain *d = t->dom;
	int me = t->proc->pid;
	*any = false;
	*ev = 0;
	if (ptrace_wait_find(t, which, id, options & KWNOTHREAD, any, pr)) {
		*ev = EV_PTRACE;
		return NULL;
	}
	for (int i = 0; i < MAX_PROCS; i++) {
		struct process *c = d->procs[i];
		if (!c || c == t->proc)
			continue;
		if (c->ppid != me && !(c->zombie && c->ptrace_reaper == me))
			continue;
		if ((which == WHICH_PID && c->pid != id) || (which == WHICH_PGID && c->pgid != id))
			continue;
		*any = true;
		if ((*ev = child_event(c, options, me)))
			return c;
	}
	return NULL;
}

/* The wait loop shared by wait4 and waitid: a child and its event (*ev),
 * or NULL with *ret set (-ECHILD, 0 for WNOHANG, or a restart). A child's
 * end, stop and continue wake it (proc_wake_waiters). */
static struct process *wait_child(struct thread *t, int which, int id, int options, int *ev, long *ret,
				   struct pt_report *pr)
{
	struct domain *d = t->dom;
	bool any;
	struct process *c = find_child(t, which, id, options, &any, ev, pr);
	if (c || *ev || !any || (options & KWNOHANG)) {
		*ret = any ? 0 : -ECHILD;
		return c;
	}
	struct futex_waiter w = { .bitset = ~0u };
	futex_waiter_link(d, &w, FUTEX_KEY_CHILD);
	t->waiting = &w;
	for (;;) {
		if (d->exiting || t->proc->exiting || t->exited) {
			*ret = -EINTR;
			break;
		}
		if (d->paused || sig_deliverable(t)) {
			*ret = -ERESTART_SYSCALL; /* a handler decides EINTR vs restart */
			break;
		}
		w.woken = false;
		pthread_cond_wait(&w.cv, &d->lock);
		if ((c = find_child(t, which, id, options, &any, ev, pr)) || *ev || !any) {
			*ret = any ? 0 : -ECHILD;
			break;
		}
	}
	t->waiting = NULL;
	futex_waiter_unlink(d, &w);
	return c;
}

/* Reports a stop or a continue once, unless WNOWAIT keeps it. */
static void consume(struct process *c, int ev, int options)
{
	if (options & KWNOWAIT)
		return;
	if (ev == EV_STOPPED)
		c->stop_sig = 0;
	else if (ev == EV_CONTINUED)
		c->continued = false;
}

/* The rusage wait4 and waitid report for child c (NULL: none): its CPU
 * time and its waited-for children's, all of it as user time (pdvm does
 * not tell the guest's system time apart), and the domain's peak
 * resident size. */
static int put_rusage(struct domain *d, gva_t ru, struct process *c)
{
	struct rusage r;

	if (!ru)
		return 0;
	memset(&r, 0, sizeof(r));
	if (c) {
		uint64_t ns = (c->zombie ? c->cpu_gone_ns : ktimer_proc_cpu_ns(c)) + c->cpu_children_ns;

		r.ru_utime.tv_sec = (time_t)(ns / 1000000000ULL);
		r.ru_utime.tv_usec = (suseconds_t)(ns % 1000000000ULL / 1000);
		r.ru_maxrss = (long)(d->frames.data_peak * (PAGE_SIZE / 1024));
	}
	return copy_to_user(d, ru, &r, sizeof(r)) ? -EFAULT : 0;
}

/* Reaping c: its CPU time joins its parent's RUSAGE_CHILDREN (Linux's
 * wait_task_zombie; an auto-reaped child does not count). A tracer that
 * is not the parent reaps it for itself only: then the parent hears of
 * it (Linux's ptrace_unlink). */
static void reap(struct thread *t, struct process *c)
{
	if (c->ptrace_reaper && c->ppid != t->proc->pid) {
		proc_zombie_released(c);
		return;
	}
	t->proc->cpu_children_ns += c->cpu_gone_ns + c->cpu_children_ns;
	proc_free(t->dom, c);
}

static long sys_wait4(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int pid = (int)a[0], options = (int)a[2];
	if (options & ~(KWNOHANG | KWUNTRACED | KWCONTINUED | KWNOTHREAD | KWALL | KWCLONE))
		return -EINVAL;
	if (pid == INT32_MIN)
		return -ESRCH;
	int which = pid > 0 ? WHICH_PID : pid == -1 ? WHICH_ALL : WHICH_PGID;
	int id = pid > 0 ? pid : pid == 0 ? t->proc->pgid : -pid;
	long ret;
	int ev;
	struct pt_report pr;
	struct process *c = wait_child(t, which, id, options | KWEXITED, &ev, &ret, &pr);
	if (ev == EV_PTRACE) {
		/* A tracee's stop or end (vmm/ptrace.c). */
		if ((a[1] && copy_to_user(d, a[1], &pr.status, 4)) || put_rusage(d, a[3], NULL))
			return -EFAULT;
		ptrace_wait_consume(d, &pr);
		return pr.tid;
	}
	if (!c)
		return ret;
	/* A stop is (signal << 8) | 0x7f, a continue 0xffff (WIFCONTINUED). */
	int32_t st = ev == EV_STOPPED ? (c->stop_sig << 8) | 0x7f : ev == EV_CONTINUED ? 0xffff : c->wstatus;
	if ((a[1] && copy_to_user(d, a[1], &st, 4)) || put_rusage(d, a[3], c))
		return -EFAULT;
	int cpid = c->pid;
	if (ev == EV_EXITED)
		reap(t, c);
	else
		consume(c, ev, options);
	return cpid;
}

static long sys_waitid(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int idtype = (int)a[0], id = (int)a[1], options = (int)a[3];
	if (options & ~(KWNOHANG | KWUNTRACED | KWEXITED | KWCONTINUED | KWNOWAIT | KWNOTHREAD | KWALL | KWCLONE))
		return -EINVAL;
	if (!(options & (KWEXITED | KWUNTRACED | KWCONTINUED)))
		return -EINVAL;
	int which;
	bool pidfd_nb = false;
	switch (idtype) {
	case P_ALL: which = WHICH_ALL; break;
	case P_PID: which = WHICH_PID; if (id <= 0) return -EINVAL; break;
	case P_PGID: which = WHICH_PGID; if (id < 0) return -EINVAL; if (!id) id = t->proc->pgid; break;
	case P_PIDFD: {
		/* The pidfd's process; a non-blocking pidfd waits as WNOHANG
		 * and says EAGAIN where that finds nothing (Linux 5.10). */
		struct ofd *o = id < 0 ? NULL : fd_peek(d, id);
		bool exited, reaped;
		if (id < 0)
			return -EINVAL;
		if (!o)
			return -EBADF;
		if ((id = pidfd_target(o, &exited, &reaped)) < 0)
			return id;
		if (reaped)
			return -ECHILD;
		pidfd_nb = (o->flags & O_NONBLOCK) && !(options & KWNOHANG);
		options |= pidfd_nb ? KWNOHANG : 0;
		which = WHICH_PID;
		break;
	}
	default: return -EINVAL;
	}
	long ret = 0;
	int ev = 0;
	struct pt_report pr;
	struct process *c = wait_child(t, which, id, options, &ev, &ret, &pr);
	if (!c && !ev && ret < 0)
		return ret;
	struct ksiginfo i;
	memset(&i, 0, sizeof(i));
	if (ev == EV_PTRACE) {
		i.signo = SIGCHLD;
		i.code = pr.cld;
		i.kill.pid = pr.tid;
		i.kill.uid = cred_uid_out(&d->cred, d->cred.uid);
		memcpy(i.raw + 8, &pr.child_status, 4);
	} else if (c) {
		i.signo = SIGCHLD;
		i.kill.pid = c->pid;
		i.kill.uid = cred_uid_out(&d->cred, d->cred.uid);
		int32_t st;
		if (ev == EV_STOPPED) {
			i.code = CLD_STOPPED;
			st = c->stop_sig;
		} else if (ev == EV_CONTINUED) {
			i.code = CLD_CONTINUED;
			st = SIGCONT;
		} else {
			i.code = WIFEXITED(c->wstatus) ? CLD_EXITED : CLD_KILLED;
			st = WIFEXITED(c->wstatus) ? WEXITSTATUS(c->wstatus) : WTERMSIG(c->wstatus);
		}
		memcpy(i.raw + 8, &st, sizeof(st));
	} else if (pidfd_nb) {
		return -EAGAIN;
	}
	if ((a[2] && copy_to_user(d, a[2], &i, sizeof(i))) || put_rusage(d, a[4], c))
		return -EFAULT;
	if (ev == EV_PTRACE && !(options & KWNOWAIT))
		ptrace_wait_consume(d, &pr);
	else if (c && ev == EV_EXITED && !(options & KWNOWAIT))
		reap(t, c);
	else if (c)
		consume(c, ev, options);
	return 0;
}

const struct syscall_desc sys_wait_table[] = {
	{ SYS_wait4, "wait4", sys_wait4 },
	{ SYS_waitid, "waitid", sys_waitid },
	{ -1, NULL, NULL },
};
