/* domain.h: a process domain — its VM, memory, threads and kernel-side state. */
#ifndef PDVM_DOMAIN_H
#define PDVM_DOMAIN_H

#include <linux/kvm.h>
#include <pthread.h>
#include <sys/types.h>
#include <stdatomic.h>
#include <stdio.h>

#include "types.h"
#include "clock.h"
#include "mm.h"
#include "kvm.h"
#include "fault.h"
#include "futex.h"
#include "ksignal.h"
#include "pcache.h"
#include "process.h"
#include "ptrace.h"
#include "ptyjob.h"
#include "cred.h"
#include "exl.h"
#include "gfilter.h"
#include "spec.h"
#include "../guestshim/vvar.h"

struct files;
struct plock_table;
struct trap_backend;

#define MAX_THREADS 256
#define TASK_COMM_LEN 16            /* a thread's name, NUL included */

enum vcpu_state { VCPU_IN_VMM, VCPU_RUNNING, VCPU_DEAD };

struct thread {
	struct domain *dom;
	struct process *proc;
	int tid;
	bool at_call;               /* its last trap was a system call: a point a replay finds again (vmm/rr.h) */
	uint64_t rr_pos;            /* record/replay: its events so far (vmm/crew.h says how they count) */
	int crew_slot;              /* 1 + its slot among the threads with a page-table view (vmm/crew.c), 0: none */
	bool crew_out;              /* off to user code or back from it, the lock not yet taken again:
				     * where it is, only it can say (vmm/crew.c) */
	uint64_t crew_entered_ns;   /* host monotonic time it last entered the guest (vmm/crew.c) */
	char comm[TASK_COMM_LEN];   /* its name (PR_SET_NAME, execve), NUL-padded;
				     * "" until named: the program's basename */
	int pdeathsig;              /* PR_SET_PDEATHSIG; 0 (none) in a new thread */
	int nice;                   /* setpriority: -20..19, kept (not applied to the host thread) */
	uint32_t sched_policy;      /* sched_setscheduler: SCHED_OTHER, BATCH or IDLE, and
				     * SCHED_RESET_ON_FORK; a domain gets no real-time policy */
	struct vcpu vcpu;
	struct kvm_regs regs;       /* user-mode registers at the last trap */
	uint64_t fs_base, gs_base;
	gva_t clear_child_tid;      /* set_tid_address / CLONE_CHILD_CLEARTID */
	gva_t robust_list;
	uint64_t robust_len;
	uint64_t sigmask;
	uint64_t loaded_gen;        /* mm.root_gen of the CR3 this vCPU runs with */
	_Atomic int state;          /* enum vcpu_state */
	bool regs_dirty;            /* regs must be pushed before re-entry */
	bool sregs_dirty;           /* fs/gs base changed: push before re-entry */
	bool in_stub;               /* ring0 backend: vCPU waits at ring 0 for an iret */
	uint64_t lstar;             /* its LSTAR: a syscall's trap when nothing is mapped there */
	bool exl_unstick;           /* kicked out of entry code waiting on a forged state (exl_serve.c) */
	bool exl_sent_slow;         /* the server sent its last call to the exit */
	/* The server answered its call but the call raised a signal for it
	 * (SIGPIPE): the slot stays TAKEN with the result in it until the
	 * kick's capture takes it as served and delivers the signal. */
	bool exl_done_pending;
	gpa_t kstack_gpa;           /* this vCPU's ring-0 stack page (ring0 backend) */
	bool exited;
	bool blocked;               /* inside dom_block_begin/end */
	bool parked;                /* waiting in thread_park for a resume, or stopped */
	bool jobctl_stop;           /* must join its process's group stop (vmm/jobctl.c) */
	bool stopped;               /* stopped by job control until SIGCONT or the end */
	bool filter_inherited;      /* created by a filtered thread (vfilter.c) */
	struct fs *fs;              /* its own cwd and umask, or NULL: its process's (vmm/fs.c) */
	struct futex_waiter *waiting; /* set while blocked in futex wait */
	struct {                    /* a timed call interrupted for a restart */
		bool valid;
		uint64_t rip, nr;       /* rip after the `syscall`, the number */
		uint64_t deadline_ns;   /* guest CLOCK_MONOTONIC */
	} restart;
	/* signals (vmm/ksignal.c) */
	uint64_t sig_pending;       /* thread-directed pending signals */
	struct ksiginfo sig_info[NSIG_K];
	uint64_t ss_sp, ss_size;    /* sigaltstack */
	uint32_t ss_flags;
	uint64_t saved_sigmask;     /* sigsuspend/ppoll: mask to put back */
	bool restore_sigmask;
	uint64_t sigwait_set;       /* rt_sigtimedwait is waiting for these (blocked or not): they wake it */
	struct {                    /* a call interrupted by a signal */
		bool valid;
		int kind;           /* how a handler settles it: INTR_* in vmm/ksignal.c */
		uint64_t nr, a1;
	} intr;
	pthread_t host;
	clockid_t cpu_clock;        /* its host thread's CPU clock, while cpu_clock_ok */
	bool cpu_clock_ok;
	uint64_t cpu_seen_ns;       /* its CPU time at the last process CPU-timer expiry */
	struct pt_state pt;         /* tracing, as tracee (vmm/ptrace.c) */
};

struct sock_bound;

struct domain {
	pthread_mutex_t lock;       /* the domain lock: held while handling traps */
	struct kvm_vm vm;
	const struct trap_backend *trap;
	/* The XSAVE features (XCR0) the guest's code really runs with, read by
	 * the probe with xgetbv at CPL3: on a PVM host the host's, whatever
	 * KVM_SET_XCRS said; an image records it (restore compares). */
	uint64_t guest_xcr0;
	struct sock_bound *unix_bound; /* UNIX paths its sockets bound (vmm/sock.h) */
	struct frames frames;       /* guest physical memory, one memfd */
	struct pcache pcache;       /* MAP_SHARED file pages (vmm/pcache.c) */
	struct mm *mms;             /* every address space (list on mm->next) */
	uint64_t root_gen;          /* last mm.root_gen handed out (domain-wide:
				     * vCPUs compare generations across mms) */
	struct kpage { gva_t va; gpa_t gpa; uint64_t flags; } kpages[8 + 2 * MAX_THREADS];
	int nkpages;                /* the kernel area, mapped in every mm */
	/* A host directory no guest socket address may reach into: pdvm's
	 * control directory (its sockets command domains). st_dev/st_ino. */
	bool deny_dir_set;
	dev_t deny_dev;
	ino_t deny_ino;
	struct process *procs[MAX_PROCS];
	struct process *init;       /* the first process: its exit ends the domain */
	int fg_pgid;                /* foreground process group of the terminal */
	/* The ptys the domain made that control one of its sessions
	 * (ptyjob.c); not in images, which cannot carry a pty. */
	struct pty_job ptyjobs[MAX_PTYJOBS];
	const struct domain_spec *spec; /* what it was made from (the caller keeps it) */
	struct plock_table *plocks; /* POSIX record locks of its processes
				     * (posixlock.c); NULL until the first */
	struct dom_cred cred;       /* host identity of guest work (cred.c) */
	bool abstract_host;         /* the host's abstract UNIX names reachable (sock.c) */

	struct thread *threads[MAX_THREADS];
	int nthreads;               /* live threads */
	struct vcpu vcpu_pool[MAX_THREADS]; /* vCPUs of exited threads, for reuse */
	int npool;
	int next_vcpu_id;
	struct futex_waiter *futex_waiters;
	struct pt_zombie pt_zombies[MAX_THREADS]; /* traced threads gone, for their tracers */
	int next_tid;
	int pid;                    /* the first process's pid */
	/* vDSO time data (vmm/vdso.c) */
	gva_t vvar_gva;             /* 0: no vDSO */
	bool vvar_have_base;
	bool vdso_calibrated, vdso_off; /* TSC measured / fast path off for good;
					 * time from the TSC when both say so */
	uint64_t vdso_traps, vdso_checked_ns, tsc_khz;
	int64_t tsc_offset;         /* guest TSC - host TSC */
	uint64_t tsc_mult;          /* ns = ticks * mult >> 32 */
	struct pdvm_vvar vvar_last; /* what the guest sees now */
	uint64_t vvar_updated_ns;   /* host CLOCK_MONOTONIC of the last update */
	pthread_t sig_thread;
	bool sig_thread_running, sig_thread_quit;

	bool exiting;               /* exit_group or fatal fault in progress */
	int exit_status;            /* pdvm's own exit status */
	pthread_cond_t done_cv;     /* signalled when the last thread is gone */

	FILE *log;                  /* the domain's log; may be NULL */
	bool verbose;
	uint64_t syscalls_reported[8]; /* bitmap of the unknown and refused calls
				     * the log has named (syscall.c) */
	uint64_t start_ns;          /* host CLOCK_MONOTONIC at start */
	int64_t mono_offset_ns;     /* guest monotonic = host monotonic + this */
	uint64_t ntraps;            /* syscalls and exceptions handled */
	/* uname's node name ("": the host's), from the spec or an image. */
	char hostname[SPEC_HOSTNAME_MAX + 1];
	uint32_t pids_max;          /* the spec's or an image's (0: none but MAX_THREADS) */
	struct gfilter *gfilter;    /* the operator's seccomp profile (NULL: none), the domain's copy */
	uint64_t gfilter_logged[GF_MAX_NR / 64]; /* calls its LOG rules have named */
	struct exl_dom exl;         /* exitless system calls (vmm/exl.h) */
	const struct rr_ops *rr;    /* record/replay's hooks (vmm/rr.h; NULL: none) */
	void *rr_ctx;               /* theirs */
	bool tsc_trap;              /* the guest's rdtsc/rdtscp trap, for rr->tsc (spec->rr_tsc) */
	struct crew *crew;          /* threads' page-table views under record/replay (vmm/crew.c) */

	/* pause/snapshot (vmm/dom_ctl.c) */
	int paused;                 /* pause depth: threads park while > 0 */
	bool user_paused;           /* one level of it is `pdvm pause` */
	bool started;               /* every initial thread has its host thread */
	int host_pid;               /* the pdvm process (pid is the guest's view) */
	int nparked;                /* threads parked at the top of their loop */
	pthread_cond_t park_cv;     /* parked threads wait here for a resume */
	pthread_cond_t parked_cv;   /* the pauser waits here for nparked */
	char last_snap[33];         /* id of the latest snapshot: incremental
				     * images are relative to it */
};

void dom_lock(struct domain *d);
void dom_unlock(struct domain *d);

/* Around a host call that may block: drops the domain lock so the other
 * threads go on. Returns false if the domain is stopping or pausing (the
 * caller returns -ERESTART_SYSCALL, or -EINTR when exiting). */
void dom_block_begin(struct thread *t);
bool dom_block_end(struct thread *t);

/* Message to the domain log (always) and to stderr (when verbose). */
/* The first process's resource limits: pdvm's defaults, then the spec's
 * (vmm/sys_misc.c). */
void rlimits_setup(struct domain *d);

void dom_log(struct domain *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Makes every vCPU of the domain use the current page-table root before
 * returning: vCPUs inside the guest are kicked out (TLB shootdown). */
void dom_tlb_shootdown(struct domain *d);

/* Ends the whole domain with pdvm exit status `status`. */
void dom_exit_group(struct domain *d, int status);

/* Creates a thread (and its vCPU) sharing the domain; not yet started. */
struct thread *thread_create(struct domain *d, int *err);
/* The live thread with this tid, or NULL. */
struct thread *thread_find(struct domain *d, int tid);
/* The guest thread the calling host thread runs; NULL on pdvm's own. */
struct thread *thread_self(void);
/* The exitless server runs a call as thread t (NULL: as nobody again):
 * thread_self() and the current process are t's. */
void thread_act_as(struct thread *t);
/* What a pid argument of a per-thread call names: 0 is the caller. */
struct thread *thread_target(struct thread *t, int pid);
/* With the domain paused: waits, the user state in t->regs, for a resume. */
void thread_park(struct thread *t);
/* With a group stop to join (t->jobctl_stop) or joined: joins it and
 * waits, the user state in t->regs, for SIGCONT or the end; counts as
 * parked meanwhile, so that pause and snapshot need not wait for it. */
void thread_stop(struct thread *t);
/* Starts the host thread that runs t's vCPU. */
int thread_start(struct thread *t);
/* Ends the calling guest thread (exit(2)). */
void thread_exit(struct thread *t);

/* clone's shared part for a new thread c of t (vmm/thread.c): TLS, mask,
 * vCPU set-up, FPU and registers (rax 0, the new stack), and what else a
 * child inherits: t's name and, when c starts a new process (fork, vfork),
 * t's process's dumpable, no_new_privs and personality. 0 or -errno. */
int clone_cpu_state(struct thread *t, struct thread *c, uint64_t flags, gva_t newsp, gva_t tls);
/* Undoes thread_create for a thread that never started. */
void clone_abort(struct thread *c);
/* fork, vfork, and clone without CLONE_THREAD (vmm/sys_fork.c). */
long proc_clone(struct thread *t, uint64_t flags, gva_t newsp, gva_t ptid, gva_t ctid, gva_t tls);
/* execve: the thread's name becomes the program's basename. */
void thread_set_comm(struct thread *t, const char *path);
/* The FPU and SSE state a new program starts with (FNINIT's control word,
 * the default MXCSR, the rest zero), as execve leaves it. */
void thread_fpu_reset(struct thread *t);
/* The thread's name as PR_GET_NAME reports it, NUL-padded. */
void thread_get_comm(const struct thread *t, char comm[TASK_COMM_LEN]);

/* What the program around the machine attaches to a domain while it runs
 * (the CLI: its control socket; restore: the lazy loader). Any hook may be
 * NULL. */
struct domain_hooks {
	/* Set-up is over, no thread runs yet, the domain lock is not held.
	 * 0, or pdvm's exit status: the domain does not start. */
	int (*start)(struct domain *d, void *arg);
	/* Every thread is gone (or given up on). */
	void (*stop)(struct domain *d, void *arg);
	/* Just before the domain is freed; not called when a thread that
	 * missed the end may still touch it. */
	void (*release)(struct domain *d, void *arg);
	void *arg;
};

/* Runs a domain until it exits; returns pdvm's exit status (status.h). */
int dom_run(const struct domain_spec *spec, const struct domain_hooks *h);

/* The pieces of dom_run, shared with restore: a new domain for spec
 * (NULL on ENOMEM; spec must outlive it); its VM, memory, files and first
 * vCPU (with the domain lock held; 0 or pdvm's exit status); and, given
 * status 0, starting every thread and waiting for the end.
 * dom_start_wait frees the domain and returns pdvm's exit status. */
struct domain *dom_new(const struct domain_spec *spec);
int dom_boot(struct domain *d, struct thread **first);
int dom_start_wait(struct domain *d, int status, const struct domain_hooks *h);
/* `pdvm info`: boots a tiny domain and prints the host kind, the trap
 * backend and the TSC's state. Returns pdvm's exit status. */
int dom_host_info(void);
/* Frees everything of a domain whose threads are all gone (or never ran). */
void dom_free(struct domain *d);

/* ---- control of a running domain (vmm/dom_ctl.c); called from the control
 * socket's thread, never with the domain lock held ---- */

enum dom_state { DOM_RUNNING, DOM_PAUSED, DOM_EXITING };

struct dom_info {
	char name[256];
	int pid;                    /* the pdvm process */
	enum dom_state state;
	uint64_t mem_bytes;         /* guest frames in use (data + page tables) */
	uint64_t mem_limit;         /* the domain's memory = limit */
	uint64_t uptime_ns;
	int nthreads;
};

const char *dom_state_name(enum dom_state s);
void dom_get_info(struct domain *d, struct dom_info *out);
/* Brings every vCPU out of the guest and parks its thread (blocked syscalls
 * are rewound for a restart). Nested: each pause needs a resume. 0 or -errno
 * (-ESRCH when the domain is exiting). */
int dom_pause(struct domain *d);
int dom_resume(struct domain *d);
/* With the domain lock held: one level of pause / resume. */
int dom_pause_locked(struct domain *d);
void dom_resume_locked(struct domain *d);
/* Ends the domain as SIGKILL would: pdvm exits with 137. */
void dom_kill(struct domain *d);

#endif
