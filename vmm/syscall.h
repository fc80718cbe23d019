/* syscall.h: the Linux ABI layer's dispatch interface. */
#ifndef PDVM_SYSCALL_H
#define PDVM_SYSCALL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "types.h"

struct domain;
struct thread;

/* Handlers take the six argument registers and return a value or -errno. */
typedef long (*syscall_fn)(struct thread *t, const uint64_t a[6]);

struct syscall_desc {
	int nr;
	const char *name;
	syscall_fn fn;
};

/* Handler return value: rewind RIP to the `syscall` instruction and re-issue
 * it when the thread next runs (a restartable blocking call). */
#define ERESTART_SYSCALL 512

/* A guest timespec timeout as ms, rounded up (uts 0: none, *ms = -1); vmm/sys_poll.c. */
int timeout_from_user(struct domain *d, gva_t uts, int64_t *ms);

/* Restart with a deadline (Linux's restart_block): a relative timeout that a
 * pause interrupted resumes with the time that was left, not the whole
 * timeout again. Deadlines are guest CLOCK_MONOTONIC nanoseconds. */
/* True when this call re-issues one that restart_at interrupted. */
bool restart_pending(struct thread *t, uint64_t *deadline_ns);
/* Records the deadline and returns -ERESTART_SYSCALL. */
long restart_at(struct thread *t, uint64_t deadline_ns);

/* Each family file exports a table ending with { -1, NULL, NULL }. */
extern const struct syscall_desc sys_file_table[];
extern const struct syscall_desc sys_fs_table[];
extern const struct syscall_desc sys_fd_table[];
extern const struct syscall_desc sys_mem_table[];
extern const struct syscall_desc sys_thread_table[];
extern const struct syscall_desc sys_time_table[];
extern const struct syscall_desc sys_misc_table[];
extern const struct syscall_desc sys_poll_table[];
extern const struct syscall_desc sys_signal_table[];
extern const struct syscall_desc sys_timer_table[];
extern const struct syscall_desc sys_proc_table[];
extern const struct syscall_desc sys_fork_table[];
extern const struct syscall_desc sys_exec_table[];
extern const struct syscall_desc sys_wait_table[];
extern const struct syscall_desc sys_net_table[];
extern const struct syscall_desc sys_epoll_table[];
extern const struct syscall_desc sys_evfd_table[];
extern const struct syscall_desc sys_sched_table[];
extern const struct syscall_desc sys_priv_table[];
extern const struct syscall_desc sys_xattr_table[];
extern const struct syscall_desc sys_splice_table[];
extern const struct syscall_desc sys_memfd_table[];
extern const struct syscall_desc sys_pidfd_table[];
extern const struct syscall_desc sys_ptrace_table[];

/* What the tables cannot say about a call: "partial: ...", "refused: ERRNO
 * (why)" or "absent: why" (vmm/sys_notes.c, for docs/syscalls.md). The
 * table ends with { -1, NULL }. */
struct syscall_note {
	int nr;
	const char *note;
};
extern const struct syscall_note syscall_notes[];

void syscall_init(void);
/* Handles the syscall in t->regs (RAX = number), sets RAX to the result,
 * which it returns too (-ERESTART_SYSCALL: rewound for a restart). */
long syscall_dispatch(struct thread *t);
/* After call nr returned ret (the dispatcher's, and the exitless server's
 * for the calls it answers): SIGPIPE for a write that found no reader. */
void syscall_raise_sigpipe(struct thread *t, uint64_t nr, long ret);
const char *syscall_name(int nr);
/* The handler of call nr (after syscall_init), or NULL: read only, for the
 * table of calls and their status (docs/syscalls.md). */
const struct syscall_desc *syscall_lookup(int nr);

/* For a handler that refuses its call (as Linux refuses an unprivileged
 * process) or answers one Linux itself does not have (err -ENOSYS): the
 * domain's log says so, and why, once per domain and call. Returns err. */
long syscall_refuse(struct thread *t, int nr, long err, const char *why);

#endif
