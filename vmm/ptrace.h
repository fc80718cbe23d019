/* ptrace.h: tracing between the threads of one domain — the link, ptrace-stops, and the hooks of the syscall, signal, wait, clone, exec and exit paths (vmm/ptrace.c). */
#ifndef PDVM_PTRACE_H
#define PDVM_PTRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "ksignal.h"

struct domain;
struct process;
struct thread;
struct trap;

/* How the tracer last resumed the tracee. */
enum pt_mode { PT_RUN, PT_SYSCALL, PT_STEP };

/* What kind of ptrace-stop the tracee is in. */
enum pt_kind { PTS_SIGNAL = 1, PTS_SYSCALL, PTS_EVENT, PTS_GROUP };

/* Linux's ptrace events (status >> 16 of a stop). */
#define PT_EVENT_FORK       1
#define PT_EVENT_VFORK      2
#define PT_EVENT_CLONE      3
#define PT_EVENT_EXEC       4
#define PT_EVENT_VFORK_DONE 5
#define PT_EVENT_EXIT       6
#define PT_EVENT_STOP       128

/* A thread's side of tracing, in struct thread. Changed with the domain
 * lock held; a tracee's registers are only touched by its tracer while it
 * waits in a ptrace-stop. */
struct pt_state {
	int tracer;             /* tid of the tracing thread; 0: not traced */
	int tracer_pid;         /* its process: whose waits see the stops */
	bool seized;            /* PTRACE_SEIZE (event stops, LISTEN, INTERRUPT) */
	uint32_t options;       /* PTRACE_O_* */
	enum pt_mode mode;
	bool stopped;           /* in a ptrace-stop until resumed */
	bool reported;          /* a wait has reported this stop */
	bool listening;         /* PTRACE_LISTEN: stopped, yet reports a new stop */
	enum pt_kind kind;
	int code;               /* the stop's wait code: status >> 8 */
	int resume_sig;         /* the resuming request's signal */
	bool interrupt;         /* a trap stop is due (INTERRUPT, attach, new child) */
	int interrupt_code;     /* its code */
	bool in_syscall;        /* past a syscall-enter stop, before the exit one */
	bool at_exit;           /* the stop is a syscall-exit stop */
	bool step_trap;         /* a single step ended in a system call: SIGTRAP after it */
	uint64_t orig_rax;      /* the call at a syscall stop (user_regs_struct) */
	uint64_t eventmsg;      /* PTRACE_GETEVENTMSG */
	struct ksiginfo info;   /* PTRACE_GETSIGINFO of a signal-delivery-stop */
	uint64_t dr[8];         /* debug registers as POKEUSER set them */
};

/* A traced thread that is gone, until its tracer's wait reports it
 * (Linux keeps such a thread as a zombie for the tracer). */
struct pt_zombie {
	int tid;                /* 0: a free slot */
	int tracer_pid;
	int pgid;
	int32_t wstatus;
};

/* What a tracer's wait reports: a stop or the end of a thread. */
struct pt_report {
	int tid;
	int32_t status;         /* wait4's status */
	int cld;                /* waitid's si_code: CLD_TRAPPED, _EXITED, _KILLED */
	int child_status;             
	bool exited;
};

/* Is t traced? */
static inline bool ptrace_traced(const struct pt_state *s)
{
	return s->tracer != 0;
}

/* Any tracer-tracee pair in the domain: the tid of one tracee, or 0
 * (snapshot refuses while one exists). */
int ptrace_any(struct domain *d);

/* The tracee thread tid of tracer t, in a ptrace-stop for it; NULL with
 * *err (-ESRCH) otherwise. `stopped` false: traced by t is enough. */
struct thread *ptrace_tracee(struct thread *t, int tid, bool stopped, long *err);

/* Attach: tracer t takes c (SEIZE: without a stop; TRACEME: c asked for
 * it, no SIGSTOP either). 0 or -errno. */
long ptrace_attach(struct thread *t, struct thread *c, bool seize, bool traceme, uint32_t options);
/* Ends the link: c resumes with signal sig (0: none). */
void ptrace_detach(struct thread *c, int sig);
/* Resumes a tracee in a ptrace-stop: how, and with which signal. */
void ptrace_resume(struct thread *c, enum pt_mode mode, int sig);
/* PTRACE_INTERRUPT and PTRACE_LISTEN. */
void ptrace_interrupt(struct thread *c);
long ptrace_listen(struct thread *c);
/* SIGCONT ended p's group stop: LISTENing tracees report it. */
void ptrace_continued(struct process *p);

/* ---- hooks, each called with the domain lock held ---- */

/* A syscall trap of t, its registers in t->regs: the syscall-enter stop.
 * False when the tracer cancelled the call (orig_rax set to -1). */
bool ptrace_syscall_enter(struct thread *t);
/* After the call (RAX holds its result): the syscall-exit stop. */
void ptrace_syscall_exit(struct thread *t, long ret);
/* sig_deliver dequeued sig: the signal-delivery-stop. Returns the signal
 * to act on (0: the tracer suppressed it), *info updated. */
int ptrace_signal(struct thread *t, int sig, struct ksiginfo *info);
/* Before sig_deliver dequeues: a trap stop that is due (interrupt,
 * attach, auto-attached child). */
void ptrace_trap_check(struct thread *t);
/* t took a CPU exception: a traced thread gets its signal queued (forced
 * as Linux's force_sig) for sig_deliver. False when t is not traced. */
bool ptrace_fault(struct thread *t, const struct trap *tr);
/* t joined a group stop: a tracee stops for its tracer instead. True if it
 * did (and was resumed). */
bool ptrace_group_stop(struct thread *t);
/* t was put in a ptrace-stop while it waited in a group stop (attach):
 * waits in it until resumed. */
void ptrace_stopped_wait(struct thread *t);
/* clone of c by t: c is attached to t's tracer when t's options ask for
 * it. Returns the PT_EVENT_* to report afterwards, or 0. */
int ptrace_clone(struct thread *t, struct thread *c, uint64_t flags);
/* An event stop of t when its options ask for it; msg for GETEVENTMSG. */
void ptrace_event(struct thread *t, int event, uint64_t msg);
/* A successful execve of t: the exec event, or a SIGTRAP. */
void ptrace_exec(struct thread *t, int old_tid);
/* t is going away: as a tracer its tracees are detached (or killed for
 * PTRACE_O_EXITKILL), as a tracee its link ends. */
void ptrace_thread_gone(struct thread *t);
/* Process p has ended: zombies it was to report as a tracer are left to
 * their parents. */
void ptrace_proc_gone(struct process *p);

/* wait4/waitid: a tracee of t's process (of t with __WNOTHREAD) matching
 * the wait (which: 0 pid, 1 pgid, 2 all; id) with a stop or an end to
 * report, in *r. *any is set when some tracee matches at all. */
bool ptrace_wait_find(struct thread *t, int which, int id, bool nothread, bool *any, struct pt_report *r);
/* It was reported (not with WNOWAIT): a stop is not reported again, a
 * gone thread is forgotten. */
void ptrace_wait_consume(struct domain *d, const struct pt_report *r);

#endif
