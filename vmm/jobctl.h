/* jobctl.h: job control — group stops by SIGSTOP, SIGTSTP, SIGTTIN and SIGTTOU, SIGCONT, and what the parent is told (vmm/jobctl.c). */
#ifndef PDVM_JOBCTL_H
#define PDVM_JOBCTL_H

#include <stdbool.h>
#include <stdint.h>

struct process;
struct thread;

/* SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU: the signals whose default stops. */
bool jobctl_is_stop(int sig);

/* At a signal's generation, whatever its action or mask (Linux's
 * prepare_signal): a stop signal discards p's pending SIGCONT; SIGCONT
 * discards p's pending stop signals and resumes p if stopped or stopping
 * (CLD_CONTINUED to the parent, a report for WCONTINUED). Domain lock held. */
void jobctl_prepare(struct process *p, int sig);

/* t took stop signal sig whose action is the default: every thread of its
 * process is to stop (the stop completes when the last one has). False if
 * the signal is discarded instead (SIGTSTP and the terminal stops in an
 * orphaned process group). */
bool jobctl_stop_begin(struct thread *t, int sig);

/* t, its user state in t->regs, joins its process's group stop; the last
 * thread to join completes it (CLD_STOPPED to the parent, a report for
 * WUNTRACED). The caller then waits while t->stopped. */
void jobctl_stop_join(struct thread *t);

/* t leaves (exit of one thread) while its process's stop waits for it:
 * the stop no longer does. */
void jobctl_thread_gone(struct thread *t);

/* 'T' when p's main thread (or, once it is gone, p) is stopped, 'Z' for a
 * zombie, else 'R': the state letter of /proc/PID/stat. */
char jobctl_state(const struct process *p);
/* SIGCHLD with code (CLD_STOPPED, CLD_CONTINUED, CLD_TRAPPED) about pid
 * and its status to process `to`, unless it ignores SIGCHLD or set
 * SA_NOCLDSTOP (do_notify_parent_cldstop). Waking its waits is the
 * caller's. */
void jobctl_sigchld(struct process *to, int code, int pid, int32_t status);

#endif
