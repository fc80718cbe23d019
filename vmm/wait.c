/* wait.c: the blocking-wait service — a host wait (poll, epoll_wait) run in slices without the domain lock, so that a pause or the domain's end is noticed. */
#include <errno.h>
#include <stdint.h>

#include "clock.h"
#include "domain.h"
#include "syscall.h"
#include "wait.h"

#define SLICE_MS 100    /* wake up this often to notice the domain stopping */

static int64_t now_ms(void)
{
	return (int64_t)(host_mono_ns() / 1000000);
}

long wait_slices(struct thread *t, int64_t timeout_ms, int (*wait)(void *ctx, int ms), void *ctx)
{
	int64_t end = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	/* The exitless server never waits: the call goes to the exit, which
	 * re-issues it (its callers wait before they have done anything). */
	if (exl_serving())
		return -ERESTART_SYSCALL;
	for (;;) {
		int64_t left = end < 0 ? SLICE_MS : end - now_ms();
		int slice = (int)(left < 0 ? 0 : left > SLICE_MS ? SLICE_MS : left);
		dom_block_begin(t);
		int r = wait(ctx, slice);
		int e = errno;
		bool alive = dom_block_end(t);
		if (r < 0 && e != EINTR)
			return -e;
		if (r > 0)
			return r;
		if (!alive) /* pausing: re-issued afterwards (with the whole timeout) */
			return t->dom->exiting ? -EINTR : -ERESTART_SYSCALL;
		if (end >= 0 && now_ms() >= end)
			return 0;
	}
}
