/* process.h: the processes of a domain — ids, tree, address space, files, signal state, exit. */
#ifndef PDVM_PROCESS_H
#define PDVM_PROCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "ksignal.h"
#include "ktimer.h"

struct domain;
struct thread;
struct mm;
struct files;

#define MAX_PROCS 256

struct sigaction_k {
	uint64_t handler, flags, restorer, mask;
};

/*
 * A process: what Linux keeps per thread group. Its threads (struct thread)
 * point here. The address space is shared with a vfork/CLONE_VM child until
 * that child execs or exits (mm->users counts them).
 */
struct process {
	struct domain *dom;
	int pid, ppid, pgid, sid;
	struct mm *mm;
	struct files *files;        /* fd table, cwd, umask: vmm/files.c */
	struct sigaction_k sigactions[64]; /* index: signal number - 1 */
	uint64_t sig_pending;       /* process-directed pending signals */
	struct ksiginfo sig_info[NSIG_K];
	struct ktimer timers[MAX_KTIMERS]; /* [0]: ITIMER_REAL */
	struct ktimer cputimers[2];  /* ITIMER_VIRTUAL, ITIMER_PROF (KITIMER_*) */
	uint64_t cpu_gone_ns;        /* CPU time of its threads that have ended */
	uint64_t cpu_children_ns;    /* of the children it waited for, theirs and
	                              * their waited-for children's (RUSAGE_CHILDREN) */
	struct { uint64_t cur, max; } rlimits[16];
	char procfs_dir[4096];      /* private dir behind /proc/self/fd, or "" */
	int nthreads;               /* live threads */
	int exit_signal;            /* sent to the parent at exit (SIGCHLD), or 0 */
	bool exiting;               /* exit_group or a fatal signal in progress */
	bool zombie;                /* exited, not yet reaped */
	int wstatus;                /* wait status once exiting */
	bool vfork_parent_waits;    /* a vfork parent sleeps until exec or exit */
	bool execed;                /* has called execve (setpgid's EACCES) */
	/* job control (vmm/jobctl.c): Linux's SIGNAL_STOP_STOPPED,
	 * group_exit_code and SIGNAL_STOP_CONTINUED */
	bool stopped;               /* a group stop is complete: every thread stopped */
	int stop_sig;               /* the stop's signal; 0 once wait reported it */
	bool continued;             /* SIGCONT ended a stop; wait has not reported it */
	/* prctl and personality state; fork copies it (clone_cpu_state) */
	int dumpable;               /* PR_SET_DUMPABLE: 0 or 1 (proc_new: 1) */
	bool no_new_privs;          /* PR_SET_NO_NEW_PRIVS: once set, for good */
	uint32_t personality;       /* personality(2); 0 = PER_LINUX */
	uint64_t start_ns;          /* guest monotonic at fork */
	int fork_tid;               /* the parent's thread that made it (TRACEME's
				     * tracer, as Linux's real_parent); 0: unknown */
	bool spawned;               /* started from outside (vmm/spawn.c): no parent
				     * inside, its end goes to spawn_fd */
	int spawn_fd;               /* -1 once told (or never spawned) */
	int ptrace_reaper;          /* its leader was traced at its end: the tracer's
				     * pid, whose wait reports the zombie first */
	uint64_t rr_ext_sig;        /* record: process-directed signals from outside
				     * not yet taken (replay/record.c) */
};

/* The process whose thread runs on this host thread, or NULL on the VMM's
 * own threads (main, control, signal thread). */
extern __thread struct process *proc_current;

/* The process a system call acts on: the calling one; the first process of
 * the domain on threads that belong to no process. */
struct process *proc_cur(struct domain *d);

/* p's parent as the domain sees it: the first process's is the pdvm
 * process's own (a shell that ran pdvm sees its child's getppid() return
 * its pid, as natively), or 0 for pid 1, a pid namespace's init. */
int proc_ppid(const struct process *p);

/* A new process with no threads and no memory (the caller fills them in),
 * registered in the domain. NULL when the process table is full or on
 * ENOMEM. */
struct process *proc_new(struct domain *d, int pid);
/* The process with this pid (zombies too), or NULL. */
struct process *proc_find(struct domain *d, int pid);
/* Frees a process record (its mm and files already released). */
void proc_free(struct domain *d, struct process *p);

/* Ends every thread of p with wait status `wstatus`: the init process
 * ends the domain (pdvm's exit status from it). */
void proc_exit_group(struct process *p, int wstatus);
/* After p's last thread left: release memory and files, become a zombie,
 * reparent children, notify the parent (SIGCHLD, wait4). */
void proc_last_thread_gone(struct process *p);
/* The tracer of zombie p's leader has reaped it (or is gone): now the
 * parent is told, as Linux's __ptrace_detach does. */
void proc_zombie_released(struct process *p);
/* Wakes threads sleeping in wait4/waitid (a child changed state). */
void proc_wake_waiters(struct domain *d);

#endif
