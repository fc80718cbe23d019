/* ptyjob.h: job control on the ptys a domain makes — controlling session, foreground group, the signal characters typed into a master (vmm/ptyjob.c). */
#ifndef PDVM_PTYJOB_H
#define PDVM_PTYJOB_H

#include <stddef.h>

struct domain;
struct process;

#define MAX_PTYJOBS 16

/* A pty some process of the domain made its controlling terminal. */
struct pty_job {
	int index;              /* the pty's number (/dev/pts/N); -1: free */
	int sid;                /* the session it controls */
	int fg_pgid;            /* its foreground process group */
};

/* The TIOCSCTTY, TIOCSPGRP, TIOCGPGRP and TIOCGSID of host fd `hostfd` on
 * behalf of p; PTYJOB_NOT_OURS when it is no pty of the domain's (the
 * host terminal pdvm runs on is answered as before). */
#define PTYJOB_NOT_OURS (-100002)
long ptyjob_ioctl(struct domain *d, struct process *p, int hostfd, unsigned int cmd, int *val);
/* After a write of buf[0..n) to host fd `hostfd`: if it is the master of
 * a pty that controls a session and ISIG is on, each INTR, QUIT or SUSP
 * character signals the pty's foreground group, as the line discipline
 * does (the host's knows nothing of the domain's groups). */
void ptyjob_typed(struct domain *d, int hostfd, const char *buf, size_t n);
/* No pty controls a session yet (dom_new). */
void ptyjob_init(struct domain *d);

#endif
