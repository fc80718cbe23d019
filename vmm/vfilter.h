/* vfilter.h: the seccomp filter of the threads that serve a guest. */
#ifndef PDVM_VFILTER_H
#define PDVM_VFILTER_H

#include <stdbool.h>
#include <stddef.h>

/* Builds the filter (once per process) and installs the SIGSYS handler
 * that reports a refused call. logfd: where the report goes besides
 * stderr (the domain log), or -1. 0 or -errno with why. */
int vfilter_init(int logfd, char *why, size_t n);
/* Puts the calling thread under the filter (and no_new_privs), unless
 * inherited: a thread created by a filtered thread has the kernel's copy
 * already, and a second one would run on every call (and stack up along a
 * chain of forks). After this, setresuid and the rest of what a vCPU
 * thread never needs end pdvm with a line naming the call. 0 or -errno. */
int vfilter_enter(bool inherited);
/* Puts every thread of the process, and every later one, under the
 * allow-list of pdvm's own threads (the vCPU threads stack theirs on it).
 * After set-up: no exec, setns, set*id from here on (the tools run in the
 * spawner), except the calls that make a new vCPU thread the domain c.
 * 0 or -errno with why. */
struct dom_cred;
int vfilter_process(const struct dom_cred *c, char *why, size_t n);
/* Whether the calling thread is under the filter: what a thread it
 * creates inherits. */
bool vfilter_active(void);

#endif
