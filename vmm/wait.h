/* wait.h: the blocking-wait service of poll, select, epoll_wait and socket calls that wait on host fds. */
#ifndef PDVM_WAIT_H
#define PDVM_WAIT_H

#include <stdint.h>

struct thread;

/*
 * Waiting on host fds, as the kernel's poll and socket waits sleep: wait(ctx,
 * ms) (a host poll or epoll_wait: its count, or -1 with errno) runs without
 * the domain lock, in slices short enough that a pause or the domain's end is
 * seen soon, until it reports something (its count), timeout_ms passes (0;
 * < 0: no timeout), or a pause or exit ends the wait (-ERESTART_SYSCALL, then
 * re-issued with the whole timeout; -EINTR). Host EINTR (a kick) goes on
 * waiting; another host error is -errno.
 */
long wait_slices(struct thread *t, int64_t timeout_ms, int (*wait)(void *ctx, int ms), void *ctx);

#endif
