/* crew.h: shared memory under record/replay — each thread runs on its own page-table view, a page is read by many or written by one (CREW), and every change of hands is an event. */
#ifndef PDVM_CREW_H
#define PDVM_CREW_H

#include <stdbool.h>
#include <stdint.h>

#include "types.h"

struct domain;
struct thread;
struct trap;
struct kvm_regs;

#define CREW_MAX_THREADS 64     /* one bit each in a page's reader set */
#define CREW_ALL UINT64_MAX     /* vpn of a give or take that is every page */
#define CREW_FRESH 4            /* pages one instruction's faults keep (vmm/crew.c) */
#define CREW_W 1u               /* TAKE: for writing */
#define CREW_KEEP_READ 1u       /* GIVE: the giver keeps reading it */

/* What a thread's view went through, at rr_pos `pos` of that thread (a
 * count of its events: calls count twice, in and out, so that "during
 * call k" is a position of its own; faults and stops count 2). */
enum crew_kind {
	CREW_TAKE = 1,   /* it got vpn (after the gives `waits`) */
	CREW_GIVE,       /* it gave vpn up (CREW_ALL: everything, at a reset or its exit) */
	CREW_STOP,       /* stopped in the middle of user code for a give: its state then */
	CREW_HOLD,       /* vpn's hold changed to `id` microseconds (adaptive; replay ignores it) */
	CREW_DROP,       /* it gave up every page of [vpn, vpn + len): the address space changed there */
};

struct crew_ev {
	enum crew_kind kind;
	uint64_t pos;
	uint64_t vpn;
	uint32_t flags;
	uint64_t id;                  /* GIVE, DROP: its number (from 1) */
	uint64_t len;                 /* DROP: pages */
	const uint64_t *waits;        /* TAKE: the gives it waited for */
	uint32_t nwaits;
	/* STOP: the user registers, the XSAVE area, and the pages it may
	 * have written since its last event (their bytes are read from
	 * guest memory by the logger). */
	const struct kvm_regs *regs;
	const void *xsave;
	uint32_t xsave_len;
	const uint64_t *pages;
	uint32_t npages;
};

/* Positions: a call in (odd: inside it; a call re-issued after a restart
 * stays the same call), a call out or ended by a signal's delivery. */
void rr_pos_enter(struct thread *t);
void rr_pos_leave(struct thread *t);

/* Threads of a recorded or replayed domain start sharing memory: the
 * calling thread (about to clone its first thread) gets a view. Called
 * again it does nothing. 0 or -errno. */
int crew_activate(struct thread *t);
bool crew_on(const struct domain *d);
/* Host monotonic nanoseconds (t->crew_entered_ns). */
uint64_t crew_now_ns(void);
/* A new thread gets an empty view (not yet running). 0 or -errno. */
int crew_thread_new(struct thread *t);
/* A thread that never ran goes (a clone that failed): no event. */
void crew_thread_forget(struct thread *t);
/* The thread is gone: it gives everything up (an event). */
void crew_thread_exit(struct thread *t);
/* The root and generation the vCPU must run with (0 when crew is off). */
uint64_t crew_root(struct thread *t, uint64_t *gen);
/* The vCPU loaded it: the view's new tables count as used. */
void crew_loaded(struct thread *t);

/* A page fault of a thread with a view. True if it was the view's (the
 * address space allows the access): then it has the page when this
 * returns. False: a real fault for the usual handling. */
bool crew_fault(struct thread *t, const struct trap *tr);
/* Whether t's view has vpn (for writing); true without a view. */
bool crew_holds(struct thread *t, uint64_t vpn, bool write);
/* The VMM reads or writes a user page for the calling thread's call. */
void crew_access(struct domain *d, gva_t va, bool write);
/* The address space changed what [lo, hi) maps (nothing if lo >= hi):
 * every view holding a page there drops the range (an event of its
 * thread), and the caller waits until all have. */
void crew_commit(struct domain *d, gva_t lo, gva_t hi);

/* Recording: whether t owes gives (then stop it out of user code first),
 * and doing them: `stopped` says its state came from the middle of user
 * code (a STOP event first). */
bool crew_owed(struct thread *t);
void crew_serve(struct thread *t, bool stopped);

/* Replay: what the trace says t's view went through. TAKE waits for its
 * gives; STOP restores the state. 0, or -EINVAL for an event that does
 * not fit (a divergence). */
int crew_apply(struct thread *t, const struct crew_ev *e, const uint8_t *pages_data);
/* A give the trace has (replay) or made (record) is done. */
bool crew_give_done(const struct domain *d, uint64_t id);

void crew_destroy(struct domain *d);

#endif
