/* pidfd.h: process fds (pidfd_open) — a guest process named by an fd that polls readable once it has exited, for pidfd_send_signal, waitid(P_PIDFD) and images. */
#ifndef PDVM_PIDFD_H
#define PDVM_PIDFD_H

#include <stdbool.h>

struct domain;
struct ofd;

/* A pidfd description for guest process `pid` of d (the caller checked it
 * is one), with guest open flags (O_NONBLOCK or 0), as already exited
 * (a zombie) and reaped (gone) when so. NULL with *err = -errno. */
struct ofd *pidfd_new(struct domain *d, int pid, int flags, bool exited, bool reaped, int *err);

/* What a pidfd description names: its pid, and whether the process has
 * exited and been reaped. -EBADF when o is no pidfd. */
int pidfd_target(const struct ofd *o, bool *exited, bool *reaped);

/* Process `pid` of d has exited (its pidfds poll readable) / was reaped
 * (they name nothing now: ESRCH, ECHILD). With the domain lock held. */
void pidfd_exited(struct domain *d, int pid);
void pidfd_reaped(struct domain *d, int pid);

#endif
