/* syscall.h: the Linux ABI layer's dispatch interface. */
#ifndef PDVM_SYSCALL_H
#define PDVM_SYSCALL_H

#include <errno.h>
#include <stdint.h>

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

/* Each family file exports a table ending with { -1, NULL, NULL }. */
extern const struct syscall_desc sys_file_table[];
extern const struct syscall_desc sys_mem_table[];
extern const struct syscall_desc sys_thread_table[];
extern const struct syscall_desc sys_time_table[];
extern const struct syscall_desc sys_misc_table[];
extern const struct syscall_desc sys_poll_table[];

void syscall_init(void);
/* Handles the syscall in t->regs (RAX = number), sets RAX to the result. */
void syscall_dispatch(struct thread *t);
const char *syscall_name(int nr);

#endif
