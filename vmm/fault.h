/* fault.h: what a guest exception means — a stale translation or a fatal signal. */
#ifndef PDVM_FAULT_H
#define PDVM_FAULT_H

#include <stdbool.h>

struct domain;
struct thread;
struct trap;

/* True for a page fault the VMM's own page tables would have allowed. */
bool fault_is_stale(struct domain *d, const struct trap *tr);
/* Ends the domain like Linux does for an unhandled fault: 128 + signal,
 * with a one-line reason naming the address and RIP. */
void fault_kill(struct thread *t, const struct trap *tr);

/* Kick signal used to pull vCPUs out of KVM_RUN and host calls. */
int thread_kick_signal(void);
void thread_install_kick(void);

struct ksiginfo;
/* The signal and siginfo Linux gives for exception tr (si_code, si_addr). */
int fault_siginfo(struct thread *t, const struct trap *tr, struct ksiginfo *info);

#endif
