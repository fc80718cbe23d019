/* ksignal.h: guest signals — generation, queueing, delivery on the user stack, sigreturn, faults. */
#ifndef PDVM_KSIGNAL_H
#define PDVM_KSIGNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "types.h"

struct thread;
struct domain;
struct trap;

#define NSIG_K		64
#define SIGBIT(n)	(1ULL << ((n) - 1))
#define SIG_UNBLOCKABLE	(SIGBIT(9) | SIGBIT(19))   /* SIGKILL, SIGSTOP */
#define KSIG_DFL	0
#define KSIG_IGN	1
#define KSA_RESTART	0x10000000ULL
#define KSA_NODEFER	0x40000000ULL
#define KSA_RESETHAND	0x80000000ULL
#define KSA_ONSTACK	0x08000000ULL
#define KSA_SIGINFO	0x4ULL
#define KSS_ONSTACK	1
#define KSS_DISABLE	2
#define KSS_AUTODISARM	(1U << 31)
#define KMINSIGSTKSZ	2048

/* si_code values (include/uapi/asm-generic/siginfo.h). */
#define KSI_USER	0
#define KSI_KERNEL	0x80
#define KSI_QUEUE	(-1)
#define KSI_TIMER	(-2)
#define KSI_TKILL	(-6)

/* The kernel's siginfo_t, 128 bytes; the union starts at offset 16. */
struct ksiginfo {
	int32_t signo, err, code, pad;
	union {
		uint8_t raw[112];
		struct { int32_t pid; uint32_t uid; uint64_t value; } kill;  /* also rt */
		struct { uint64_t addr; } fault;
		struct { int32_t tid, overrun; uint64_t value; } timer;
	};
};
_Static_assert(sizeof(struct ksiginfo) == 128, "siginfo is 128 bytes");

/* stack_t as the kernel lays it out (sigaltstack, uc_stack). */
struct kstack {
	uint64_t ss_sp;
	int32_t ss_flags, pad;
	uint64_t ss_size;
};

/* The thread's sigaltstack: is sp on it; the ss_flags sigaltstack reports
 * for sp; and do_sigaltstack's change (also rt_sigreturn's restore):
 * 0, -EPERM (running on it), -EINVAL (bad mode) or -ENOMEM (too small). */
bool sig_on_altstack(const struct thread *t, uint64_t sp);
uint32_t sig_altstack_flags(const struct thread *t, uint64_t sp);
int sig_altstack_set(struct thread *t, uint64_t sp, const struct kstack *ss);

/* Generation, with the domain lock held. Ignored signals are dropped,
 * SIGKILL ends the domain; otherwise the signal is made pending (one
 * instance per signal number) and a thread that can take it is woken. */
void sig_send_thread(struct thread *t, const struct ksiginfo *info);
struct process;
void sig_send_process(struct process *p, const struct ksiginfo *info);
/* To every process of group pgid (the terminal's foreground group). */
void sig_send_pgrp(struct domain *d, int pgid, const struct ksiginfo *info);
/* A plain kill()-style siginfo for signal sig from pid, with the uid of
 * the calling thread (the domain's, or pdvm's for the host's signals) as
 * d's guests see it. */
struct ksiginfo sig_info_user(struct domain *d, int sig, int code, int pid);

/* Makes t come out of the guest or of a wait to look at its signals. */
void sig_wake(struct thread *t);

/* Is there a pending signal t does not block, or a group stop it has yet
 * to join? (Linux's signal_pending: what ends an interruptible wait.) */
bool sig_deliverable(const struct thread *t);

/* ppoll, pselect6, epoll_pwait, sigsuspend: the mask at guest address
 * umask (size bytes; 0 = none) replaces t's for the wait. -EINVAL for a
 * size that is not a sigset_t, -EFAULT for a bad pointer. */
long sig_mask_swap_in(struct thread *t, gva_t umask, uint64_t size);
/* After such a wait returned ret: the thread's own mask goes back now,
 * unless a signal the temporary mask let through ended the wait; then it
 * goes back once the handler's frame is built (the handler runs under the
 * temporary mask, its sigreturn restores the thread's own, as on Linux). */
long sig_mask_swap_out(struct thread *t, long ret);

/* Before t re-enters the guest, with t->regs current: acts on pending
 * unblocked signals — default action, or a frame for the handler — and
 * settles an interrupted system call (EINTR or restart). */
void sig_deliver(struct thread *t);

/* t joins a group stop: a call that a stop interrupts with EINTR on Linux
 * whether a handler runs or not (epoll_wait and its variants; signal(7))
 * is settled so. */
void sig_settle_for_stop(struct thread *t);

/* A system call returned -ERESTART_SYSCALL (its RIP and RAX already
 * rewound): remembers how a handler should settle it. */
void sig_note_interrupted(struct thread *t, uint64_t nr, const uint64_t a[6]);

/* A synchronous signal the thread cannot refuse (Linux's force_sig):
 * made pending for its handler and true, or false when the program must
 * die of it (no handler, blocked or ignored). */
bool sig_force(struct thread *t, const struct ksiginfo *info);
/* A CPU exception: delivers the signal to a handler and returns true, or
 * false when the program must die (no handler, blocked or ignored). */
bool sig_fault(struct thread *t, const struct trap *tr);

/* rt_sigreturn: restores t->regs, mask, altstack and FPU from the frame. */
long sig_return(struct thread *t);

#endif
