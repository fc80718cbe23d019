/* spawn.h: a process started in a running domain from outside it (pdvm exec, an OCI runtime's exec). */
#ifndef PDVM_SPAWN_H
#define PDVM_SPAWN_H

#include <stdbool.h>
#include <stddef.h>

struct domain;
struct process;

/* What to run, and with what: plain data from the caller (the control
 * socket), validated by dom_spawn as a guest's execve would be. */
struct spawn_req {
	char *const *argv;      /* argv[0] names the program (searched in PATH from envp) */
	char *const *envp;
	const char *cwd;        /* absolute, inside the domain's root */
	int stdio[3];           /* host fds for its fds 0-2: taken over (-1: none) */
	int notify_fd;          /* its wait status (an int) is written here at its end; taken over */
};

/*
 * Starts rq's program as a new process of d: an address space and fd table
 * of its own (fds 0-2 from rq->stdio, nothing else of any other process),
 * the domain's identity, root and limits, its own session and process
 * group, and no parent inside the domain (getppid() 0, as a process that
 * entered a container from outside). Nobody in the domain waits for it:
 * at its end its wait status goes to rq->notify_fd and it is gone. Returns
 * its pid, or -errno with why in err (the fds are closed either way).
 */
int dom_spawn(struct domain *d, struct spawn_req *rq, char *err, size_t errlen);
/* Sends sig to spawned process pid, as kill(2) from outside would.
 * 0, or -ESRCH when it has ended. */
int dom_spawn_signal(struct domain *d, int pid, int sig);
/* Domain lock held: p, a spawned process, has ended (a zombie): its status
 * goes to its notify fd. */
void spawn_ended(struct process *p);
/* The domain has ended: every spawned process still there ended with it
 * (SIGKILL, as a container's exec'd processes end with its init). */
void spawn_domain_ended(struct domain *d);
/* A spawned process that has not ended, or NULL: what a snapshot cannot
 * carry (its stdio and its end belong to a caller outside). */
struct process *spawn_any(struct domain *d);

#endif
