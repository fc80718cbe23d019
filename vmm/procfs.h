/* procfs.h: the domain's synthetic /proc files (vmm/procfs.c). */
#ifndef PDVM_PROCFS_H
#define PDVM_PROCFS_H

#include <stdbool.h>

struct domain;
struct thread;

/* procfs_open's "not a file of ours": the path resolves on the host. */
#define PROCFS_NOT_OURS (-100000)

/* For the guest path g (already composed, absolute): a host fd with
 * generated content for /proc/self/{cmdline,comm,environ,status,stat,
 * statm,maps,auxv,fd} (also as /proc/PID and /proc/thread-self, and
 * under task/TID/; another process's but fd) and /proc/meminfo; -errno
 * (-EACCES for writing); or PROCFS_NOT_OURS. t may be NULL
 * (thread-specific lines then show nothing pending). */
int procfs_open(struct domain *d, struct thread *t, const char *g, int flags);
/* Strips "/proc/self/", "/proc/thread-self/" or "/proc/PID/" where PID is
 * a process of the domain (*p: which one; the caller's for the first two),
 * and "task/TID/" after it; returns the rest, "" for the directory itself,
 * or NULL. */
struct process;
const char *procfs_rest(struct domain *d, const char *g, struct process **p);
/* True for the paths procfs_open generates: restore regenerates them
 * rather than checking them for changes. */
bool procfs_is_synthetic(struct domain *d, const char *g);
/* Empties the private /proc/self/fd directory (and removes it). */
void procfs_cleanup_dir(const char *dir, bool remove_dir);

#endif
