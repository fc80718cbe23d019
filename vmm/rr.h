/* rr.h: the hooks record/replay (replay/) sets on a domain — each system call's start and end, and the guest memory written for it. */
#ifndef PDVM_RR_H
#define PDVM_RR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct thread;
struct process;
struct ksiginfo;
struct crew_ev;

/* A domain with d->rr set runs deterministically (spec->deterministic:
 * time through system calls, no exitless tier), and every call made
 * through syscall_dispatch passes these hooks. */
struct rr_ops {
	/* Before the handler. true: the hook answered the call (*ret), the
	 * handler does not run (replay's emulated calls). */
	bool (*enter)(struct thread *t, uint64_t nr, const uint64_t a[6], long *ret);
	/* After it, unless the call is to be re-issued (-ERESTART_SYSCALL). */
	void (*leave)(struct thread *t, uint64_t nr, const uint64_t a[6], long ret);
	/* The VMM is about to write n bytes of guest memory at gva for the
	 * calling thread's current call (uaccess.c); t is NULL off a call. */
	void (*wrote)(struct thread *t, uint64_t gva, size_t n);
	/* A signal is generated for thread t (NULL: for process p): false
	 * drops it (a replay makes outside signals only from the trace). */
	bool (*sent)(struct thread *t, struct process *p, const struct ksiginfo *info);
	/* Pending signals t must not be given now: the recording gives a
	 * signal from outside only where its replay can (after a call). */
	uint64_t (*hold)(const struct thread *t);
	/* t takes signal sig: delivered (then signal_end once its frame is
	 * built or its action taken), or taken by a call (sigtimedwait). */
	void (*signal_begin)(struct thread *t, int sig, const struct ksiginfo *info, bool taken);
	void (*signal_end)(struct thread *t);
	/* Threads on page-table views (vmm/crew.h). Recording: an event of
	 * thread t's view, logged. Replay (set only there): makes t's view go
	 * through what the trace has for it up to its position, waiting for
	 * other threads' gives; with vpn, t must hold that page afterwards
	 * (false, a divergence reported, if it does not). */
	void (*crew_log)(struct thread *t, const struct crew_ev *e);
	bool (*crew_sync)(struct thread *t, uint64_t vpn, bool write);
	/* Thread t's rdtsc (rdtscp: with its TSC_AUX) trapped (d->tsc_trap):
	 * the recording reads the host's and logs it, the replay answers from
	 * the trace. false: a divergence (said; the domain ends). */
	bool (*tsc)(struct thread *t, bool rdtscp, uint64_t *tsc, uint32_t *aux);
};

#endif
