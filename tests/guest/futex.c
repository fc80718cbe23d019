/* futex.c: raw futex(2) semantics: EAGAIN, timeouts, wake, CMP_REQUEUE, bitsets, private/shared, EFAULT. */
#include "guest.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>

static long futex(void *uaddr, int op, uint32_t val, const struct timespec *ts, void *uaddr2, uint32_t val3)
{
	return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

/* A waiter thread: waits on word with op/val/bitset, records result and errno. */
struct waiter {
	_Atomic uint32_t *word;
	int op;
	uint32_t val, bitset;
	atomic_int started, finished;
	long ret;
	int err;
	pthread_t t;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	struct timespec ts = { 5, 0 }; /* safety net: never hang the test */

	atomic_store(&w->started, 1);
	if ((w->op & FUTEX_CMD_MASK) == FUTEX_WAIT_BITSET) {
		/* WAIT_BITSET takes an absolute CLOCK_MONOTONIC timeout */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 5;
	}
	w->ret = futex((void *)w->word, w->op, w->val, &ts, NULL, w->bitset);
	w->err = w->ret < 0 ? errno : 0;
	atomic_store(&w->finished, 1);
	return NULL;
}

static void start_waiter(struct waiter *w, _Atomic uint32_t *word, int op, uint32_t val, uint32_t bitset)
{
	w->word = word;
	w->op = op;
	w->val = val;
	w->bitset = bitset;
	atomic_store(&w->started, 0);
	atomic_store(&w->finished, 0);
	pthread_create(&w->t, NULL, wait_thread, w);
	while (!atomic_load(&w->started))
		sched_yield();
	/* Let it reach the kernel; there is no portable way to know it is queued. */
	struct timespec d = { 0, 30 * 1000000 };
	nanosleep(&d, NULL);
}

/* Wakes until n waiters on word have been woken, retrying while they have not yet queued. */
static long wake_n(_Atomic uint32_t *word, int op, int n, uint32_t bitset)
{
	long total = 0;
	for (int tries = 0; tries < 200 && total < n; tries++) {
		long r = futex((void *)word, op, (uint32_t)(n - total), NULL, NULL, bitset);
		if (r > 0)
			total += r;
		else {
			struct timespec d = { 0, 5 * 1000000 };
			nanosleep(&d, NULL);
		}
	}
	return total;
}

int main(void)
{
	static _Atomic uint32_t word = 1, word2 = 7;
	struct timespec ts;

	setvbuf(stdout, NULL, _IOLBF, 0);

	/* value mismatch */
	errno = 0;
	check(futex((void *)&word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0) == -1 && errno == EAGAIN,
	      "FUTEX_WAIT value mismatch is EAGAIN");
	check(futex((void *)&word, FUTEX_WAIT, 2, NULL, NULL, 0) == -1 && errno == EAGAIN,
	      "shared FUTEX_WAIT value mismatch is EAGAIN");

	/* relative timeout */
	ts = (struct timespec){ 0, 100 * 1000000 };
	int64_t t0 = now_ns();
	errno = 0;
	long r = futex((void *)&word, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
	int64_t el = now_ns() - t0;
	check(r == -1 && errno == ETIMEDOUT, "FUTEX_WAIT 100ms times out with ETIMEDOUT");
	check(el >= 95 * 1000000LL && el < 3000 * 1000000LL, "timeout took %.1f ms (>= 100, sane)", el / 1e6);

	/* absolute timeout with WAIT_BITSET on CLOCK_MONOTONIC and CLOCK_REALTIME */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += 50 * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	t0 = now_ns();
	r = futex((void *)&word, FUTEX_WAIT_BITSET_PRIVATE, 1, &ts, NULL, FUTEX_BITSET_MATCH_ANY);
	el = now_ns() - t0;
	check(r == -1 && errno == ETIMEDOUT && el >= 45 * 1000000LL, "WAIT_BITSET absolute monotonic timeout (%.1f ms)",
	      el / 1e6);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 50 * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	r = futex((void *)&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 1, &ts, NULL,
		  FUTEX_BITSET_MATCH_ANY);
	check(r == -1 && errno == ETIMEDOUT, "WAIT_BITSET absolute realtime timeout");

	/* invalid arguments */
	ts = (struct timespec){ 0, 2000000000L };
	CHECK_ERR(futex((void *)&word, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0), EINVAL, "timeout tv_nsec >= 1e9");
	CHECK_ERR(futex((void *)0x1000, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0), EFAULT, "WAIT on unmapped address");
	CHECK_ERR(futex((void *)((char *)&word + 1), FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0), EINVAL,
		  "WAIT on misaligned address");
	CHECK_ERR(futex((void *)&word, FUTEX_WAIT_BITSET_PRIVATE, 1, NULL, NULL, 0), EINVAL, "WAIT_BITSET bitset 0");
	CHECK_ERR(futex((void *)&word, 99, 0, NULL, NULL, 0), ENOSYS, "unknown futex op");
	check(futex((void *)&word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0) == 0, "WAKE with no waiters returns 0");

	/* wake a real waiter (private) */
	struct waiter w1, w2, w3;
	atomic_store(&word, 0);
	start_waiter(&w1, &word, FUTEX_WAIT_PRIVATE, 0, 0);
	check(!atomic_load(&w1.finished), "waiter is blocked");
	check(wake_n(&word, FUTEX_WAKE_PRIVATE, 1, 0) == 1, "FUTEX_WAKE wakes 1");
	pthread_join(w1.t, NULL);
	check(w1.ret == 0, "woken waiter returns 0 (ret %ld err %d)", w1.ret, w1.err);

	/* shared (non-private) futex on a MAP_SHARED page */
	_Atomic uint32_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	check(shared != MAP_FAILED, "mmap shared page");
	if (shared != MAP_FAILED) {
		atomic_store(shared, 5);
		start_waiter(&w1, shared, FUTEX_WAIT, 5, 0);
		check(wake_n(shared, FUTEX_WAKE, 1, 0) == 1, "shared FUTEX_WAKE wakes 1");
		pthread_join(w1.t, NULL);
		check(w1.ret == 0, "shared waiter returns 0");
		munmap((void *)shared, 4096);
	}

	/* bitsets: waiter with bitset 0x1 is not woken by WAKE_BITSET 0x2 */
	atomic_store(&word, 3);
	start_waiter(&w1, &word, FUTEX_WAIT_BITSET_PRIVATE, 3, 0x1);
	check(futex((void *)&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x2) == 0,
	      "WAKE_BITSET with a disjoint mask wakes nobody");
	check(wake_n(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, 0x3) == 1, "WAKE_BITSET with overlapping mask wakes 1");
	pthread_join(w1.t, NULL);
	check(w1.ret == 0, "bitset waiter returns 0");

	/* CMP_REQUEUE: 3 waiters on word; move them to word2, then wake 1 and requeue 2 back to word */
	atomic_store(&word, 9);
	start_waiter(&w1, &word, FUTEX_WAIT_PRIVATE, 9, 0);
	start_waiter(&w2, &word, FUTEX_WAIT_PRIVATE, 9, 0);
	start_waiter(&w3, &word, FUTEX_WAIT_PRIVATE, 9, 0);
	CHECK_ERR(futex((void *)&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)2L, (void *)&word2, 8), EAGAIN,
		  "CMP_REQUEUE with wrong expected value");
	/* First move all three to word2 (wake none), retrying until each has queued: robust on slow hosts. */
	long moved = 0;
	for (int tries = 0; tries < 200 && moved < 3; tries++) {
		r = futex((void *)&word, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)100L, (void *)&word2, 9);
		if (r > 0)
			moved += r;
		if (moved < 3) {
			struct timespec d = { 0, 5 * 1000000 };
			nanosleep(&d, NULL);
		}
	}
	check(moved == 3, "CMP_REQUEUE wake 0 moved all 3 waiters to word2 (%ld)", moved);
	atomic_store(&word2, 9);
	r = futex((void *)&word2, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)2L, (void *)&word, 9);
	check(r == 3, "CMP_REQUEUE wake 1 requeue 2 returns 3 (got %ld)", r);
	int fin = 0;
	for (int tries = 0; tries < 400 && !fin; tries++) {
		struct timespec d = { 0, 5 * 1000000 };
		nanosleep(&d, NULL);
		fin = atomic_load(&w1.finished) + atomic_load(&w2.finished) + atomic_load(&w3.finished);
	}
	struct timespec d = { 0, 50 * 1000000 };
	nanosleep(&d, NULL);
	fin = atomic_load(&w1.finished) + atomic_load(&w2.finished) + atomic_load(&w3.finished);
	check(fin == 1, "exactly one waiter woke (%d)", fin);
	check(futex((void *)&word2, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0) == 0, "no waiters left on word2");
	check(wake_n(&word, FUTEX_WAKE_PRIVATE, 2, 0) == 2, "requeued waiters woken on word");
	pthread_join(w1.t, NULL);
	pthread_join(w2.t, NULL);
	pthread_join(w3.t, NULL);
	check(w1.ret == 0 && w2.ret == 0 && w3.ret == 0, "all requeue waiters returned 0");

	return done_testing();
}
