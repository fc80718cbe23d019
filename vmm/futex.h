/* futex.h: futex waiters and the futex operations (wait, wake, requeue, wake-op), keyed by the futex word's guest-physical address. */
#ifndef PDVM_FUTEX_H
#define PDVM_FUTEX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "types.h"

struct domain;
struct thread;

struct futex_waiter {
	struct futex_waiter *next, *prev;
	gpa_t key;                  /* guest-physical address of the futex word */
	uint32_t bitset;
	bool woken;
	pthread_cond_t cv;
};

/* Waiters are linked on d->futex_waiters (lock held), so that pausing and
 * ending the domain wake them all; a key of FUTEX_KEY_NONE never matches a
 * futex word (signal waits). link initialises w's condition variable
 * (CLOCK_MONOTONIC deadlines), unlink destroys it. */
#define FUTEX_KEY_NONE UINT64_MAX
#define FUTEX_KEY_CHILD (UINT64_MAX - 1)   /* wait4, waitid, vfork: a child changed */
void futex_waiter_link(struct domain *d, struct futex_waiter *w, gpa_t key);
void futex_waiter_unlink(struct domain *d, struct futex_waiter *w);

/* The operations of futex(2), with the domain lock held; each returns what
 * the system call returns (a count, 0, or -errno). */

/* Sleeps while the word at uaddr holds val, until a wake matching bitset
 * (non-zero), the timeout (NULL: none; relative, or absolute on clock clk)
 * or a signal, pause or exit (-ERESTART_SYSCALL or a restart with what is
 * left of a relative timeout; -EINTR). */
long futex_wait(struct thread *t, gva_t uaddr, uint32_t val, const struct timespec *timeout,
		uint32_t bitset, bool absolute, clockid_t clk);
/* Wakes up to n waiters on uaddr whose bitset meets bitset (non-zero; ~0u:
 * any, as a thread's exit wakes its clear_child_tid). */
long futex_wake(struct domain *d, gva_t uaddr, int n, uint32_t bitset);
/* Wakes up to nwake waiters on uaddr and moves up to nreq others to uaddr2;
 * with cmp, only while the word at uaddr holds val3 (else -EAGAIN). */
long futex_requeue(struct domain *d, gva_t uaddr, int nwake, int nreq, gva_t uaddr2,
		   bool cmp, uint32_t val3);
/* FUTEX_WAKE_OP: applies op to the word at uaddr2, wakes up to n1 waiters on
 * uaddr and, if op's comparison with the old value holds, up to n2 on uaddr2. */
long futex_wake_op(struct domain *d, gva_t uaddr, int n1, int n2, gva_t uaddr2, uint32_t op);

#endif
