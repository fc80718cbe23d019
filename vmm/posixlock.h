/* posixlock.h: POSIX record locks (fcntl F_GETLK/F_SETLK/F_SETLKW) owned by the domain's processes, kept in a per-domain table and mirrored onto the host's locks of pdvm. */
#ifndef PDVM_POSIXLOCK_H
#define PDVM_POSIXLOCK_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct domain;
struct files;
struct ofd;
struct process;
struct thread;

/*
 * Every guest process lives in one host process, so the host's POSIX locks
 * (owned by a process) cannot tell them apart: the domain keeps its own,
 * owned as Linux owns them, by a process's fd table, with the holder's
 * guest pid. The host's lock state on a file stays the union of the
 * domain's locks (write where some process holds write, read where some
 * holds read), so programs outside the domain see them as one process's
 * (pdvm's) locks, and OFD locks (the host's, per open file description)
 * conflict with them as on Linux.
 */

/* fcntl F_GETLK, F_SETLK or F_SETLKW on guest fd `fd` (description o, a
 * reference held by the caller) with the guest's struct flock at `arg`.
 * 0 or -errno; F_SETLKW may wait (the domain lock dropped) and then
 * returns -ERESTART_SYSCALL for a pause or a signal. */
long plock_fcntl(struct thread *t, int fd, struct ofd *o, int cmd, uint64_t arg);

/* After the host answered F_OFD_GETLK for `req` (the guest's request) with
 * *ans: a conflict the host reports as pdvm's own POSIX lock becomes the
 * domain's lock behind it, with its holder's guest pid; a holder outside
 * the domain has pid 0. */
void plock_ofd_answer(struct domain *d, struct ofd *o, const struct flock *req, struct flock *ans);

/* A guest OFD lock on o's file changed: POSIX waiters behind it look again. */
void plock_kick(struct domain *d, struct ofd *o);

/* The process with fd table `owner` closes an fd of description o: POSIX
 * drops all its locks on that file. */
void plock_fd_closed(struct domain *d, const struct files *owner, struct ofd *o);

/* The fd table `owner` goes (the process exits): all its locks go. */
void plock_owner_gone(struct domain *d, const struct files *owner);

/* Closes host fd `fd`, which may be of a file the domain holds locks on:
 * the host drops all of pdvm's POSIX locks on a file whenever any fd of
 * pdvm's to that file closes, so the domain's remaining locks on it are
 * set again on the host. */
void plock_host_close(int fd);

/* dom_free: the domain's table (no process holds a lock any more). */
void plock_table_free(struct domain *d);

/* ---- images (snapshot/snap_locks.c) ---- */

/* One lock as an image keeps it. */
struct plock_info {
	const struct files *owner;      /* the holder's fd table */
	int pid;
	short type;                     /* F_RDLCK or F_WRLCK */
	int64_t start, end;             /* bytes [start, end]; end INT64_MAX: to EOF */
	dev_t dev;                      /* the file */
	ino_t ino;
};

/* Calls fn for every lock of the domain; stops at fn's first non-zero
 * return, which it returns (else 0). */
int plock_each(struct domain *d, int (*fn)(const struct plock_info *l, void *arg), void *arg);

/* Restore: process p holds `type` on [start, end] of the file of its
 * description o (open for that type). -EDEADLK when another of the
 * domain's processes holds a conflicting lock (the image contradicts
 * itself); -EAGAIN when a process outside the domain holds one now, unless
 * `force`: then the lock is the domain's alone (the host's does not follow,
 * and the log says so); other -errno. */
int plock_restore(struct domain *d, struct process *p, struct ofd *o, short type, int64_t start, int64_t end,
		  bool force);

#endif
