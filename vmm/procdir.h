/* procdir.h: the domain's view of the host's /proc — its pids in place of the host's, no other host process (vmm/procdir.c). */
#ifndef PDVM_PROCDIR_H
#define PDVM_PROCDIR_H

#include <stdbool.h>
#include <stddef.h>

struct domain;
struct ofd;
struct thread;

/* "Not a path or directory of ours": the caller goes on as before. */
#define PROCDIR_NOT_OURS (-100001)

/* The host path to resolve for composed guest path g: /proc/<pid of the
 * domain>/REST and /proc/thread-self/REST become /proc/self/REST in buf
 * (the VMM's, filtered by procdir_fd_denied); any other path is g itself.
 * NULL with errno ENOENT for /proc/<pid> of no process of the domain
 * (d may be NULL: no pid is then the domain's). */
const char *procdir_host_path(struct domain *d, const char *g, char *buf, size_t len);
/* For a host fd just opened for the guest: true if it lies on procfs in
 * another host process's directory, or in the VMM's own on an entry that
 * shows the VMM rather than the guest. The caller closes it: ENOENT. */
bool procdir_fd_denied(int fd);
/* readlink of /proc/self and /proc/thread-self (the guest's pid and
 * tid), and of exe, cwd and root under /proc/<a domain pid> (and self):
 * the text into out and its length, -ENOENT, or PROCDIR_NOT_OURS for any
 * other path. */
int procdir_readlink(struct domain *d, struct thread *t, const char *g, char *out, size_t len);
/* getdents64 on /proc's root: the host's entries without its pid
 * directories, then the domain's processes. The byte count, -errno, or
 * PROCDIR_NOT_OURS when o is no procfs root. */
long procdir_getdents(struct domain *d, struct ofd *o, char *out, size_t n);

#endif
