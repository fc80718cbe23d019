/* gio.h: guest memory as host iovecs — guest buffers used in place by the host's read, write, send and receive calls. */
#ifndef PDVM_GIO_H
#define PDVM_GIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define UIO_MAXIOV_K   1024     /* Linux's UIO_MAXIOV */
#define GIO_BATCH      64       /* host iovecs per host call */

struct domain;
struct thread;
struct ofd;

/* One guest buffer. */
struct gseg {
	uint64_t base;
	size_t len;
};

/* Copies and checks a guest iovec array like Linux's import_iovec (cnt up
 * to UIO_MAXIOV_K; the total cut at MAX_RW_COUNT). Empty entries dropped. */
long gio_import(struct domain *d, uint64_t uiov, uint64_t cnt, struct gseg *seg, int *nseg);

/* Where the guest segments are in host memory: up to GIO_BATCH iovecs from
 * `skip` bytes on. *fault is set where a page is not accessible (the
 * iovecs stop there). Returns the iovec count; *bytes their total. */
int gio_iov(struct domain *d, const struct gseg *seg, int nseg, size_t skip, bool wr, struct iovec *hv,
	    size_t *bytes, bool *fault);

/*
 * Sockets and pipes: the host call never blocks (MSG_DONTWAIT, RWF_NOWAIT),
 * so it runs with the domain lock held on guest memory in place, with no
 * bounce copy; a blocking descriptor waits for readiness without the lock
 * and tries again (the guest memory looked up afresh), and a blocking
 * stream write — or a receive with MSG_WAITALL — goes on until all is done
 * (as Linux's does) unless a pause or signal comes after some bytes went.
 * No host read or write is in flight while the domain is paused, so a
 * snapshot sees pipe and socket queues as they stand.
 *
 * For sockets, `hm` (may be NULL) carries the address and control data of
 * the first host call; after a receive it holds what the host returned
 * (msg_namelen, msg_controllen, msg_flags). `flags` are the guest's MSG_*.
 * Returns the byte count, -errno, -ERESTART_SYSCALL, or -EOPNOTSUPP when
 * the host cannot do it without blocking (the caller bounces instead).
 */
long gio_nowait(struct thread *t, struct ofd *o, const struct gseg *seg, int nseg, bool wr, size_t sum,
		struct msghdr *hm, int flags);

/* A host call's msghdr takes the name and control buffers of `hm`; after a
 * receive, `hm` gets back what the host filled in (lengths and flags). */
void gio_msg_in(struct msghdr *m, const struct msghdr *hm);
void gio_msg_out(struct msghdr *hm, const struct msghdr *m);

/* A socket's every send and receive (vmm/sys_net.c): guest memory in place
 * (gio_nowait) unless a restore's restart queue is to be read first, or the
 * message needs one host call (then through a bounce buffer); SIGPIPE as
 * Linux raises it unless flags has MSG_NOSIGNAL. hm: name and control, as
 * gio_nowait takes them (may be NULL). The byte count or -errno. */
long sock_xfer(struct thread *t, struct ofd *o, const struct gseg *seg, int nseg, size_t sum,
	       struct msghdr *hm, int flags, bool send);

#endif
