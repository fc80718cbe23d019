/* rr_calls.h: how record/replay treats each system call — answered from the trace, or made again because it builds the VMM state the rest of the replay needs. */
#ifndef PDVM_RR_CALLS_H
#define PDVM_RR_CALLS_H

#include <stdbool.h>
#include <stdint.h>

enum rr_class {
	RR_EMULATE,     /* replay returns the recorded result and memory writes */
	RR_EXECUTE,     /* replay makes the call again; the result must be the recorded one */
	RR_OPEN,        /* open family: made again if read-only, else a placeholder fd */
	RR_NEWFD,       /* returns a new fd: replay installs a placeholder under its number */
	RR_NEWFD2,      /* writes two new fds to memory (pipe, socketpair) */
	RR_WRITE,       /* write family: to the replay's own stdout/stderr made again, else emulated */
	RR_REFUSE,      /* not recorded yet: the recording stops with a message */
	RR_EINVAL,      /* moves data the trace cannot see: the recording answers EINVAL */
	RR_ENOSYS,      /* the recording answers ENOSYS: the program has a fallback (clone3 -> clone) */
};

struct rr_call {
	enum rr_class cls;
	int cloexec_arg;        /* RR_NEWFD*, RR_OPEN: the argument holding the close-on-exec flag (-1: none) */
	uint64_t cloexec_bit;
	int pair_arg;           /* RR_NEWFD2: the argument pointing at int[2] */
	const char *why;        /* RR_REFUSE: what is missing */
};

void rr_classify(uint64_t nr, const uint64_t a[6], struct rr_call *c);
/* A read-only open that replay can make again without side effects. */
bool rr_open_readonly(uint64_t nr, const uint64_t a[6]);

#endif
