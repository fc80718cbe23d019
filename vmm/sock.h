/* sock.h: per-socket state the VMM keeps beside the host socket — the listen backlog and the restart queue a restore fills. */
#ifndef PDVM_SOCK_H
#define PDVM_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ofd;

/* A datagram saved at a checkpoint, with its source address. */
struct sock_dgram {
	struct sock_dgram *next;
	struct sockaddr_storage addr;
	socklen_t alen;
	size_t len;
	uint8_t data[];
};

/*
 * The restart queue: what the guest had not yet read when the image was
 * taken — a stream's bytes, or whole datagrams. Reads (and poll/epoll
 * readiness) drain it before the host socket is read, so no byte is lost
 * or duplicated across a restore.
 */
struct sock {
	int backlog;            /* listen()'s, to listen again on restore */
	uint8_t *rbuf;          /* stream bytes [roff, rlen) */
	size_t rlen, roff;
	struct sock_dgram *dq;  /* datagrams, oldest first */
	bool eof;               /* the peer had closed: reads end with 0 */
	uint64_t pair;          /* socketpair(): both ends share this id (an image
	                         * pairs them again by it); 0 otherwise */
	int pair_end;           /* 0 or 1 */
};

/* A fresh socketpair id. */
uint64_t sock_pair_id(void);

/* The socket state of a socket description, created on first use when
 * `create` (NULL on ENOMEM or when absent). */
struct sock *sock_of(struct ofd *o, bool create);

/* Whether a read would be served from the restart queue. */
bool sock_rq_pending(struct ofd *o);

/* Serves a read from the restart queue: bytes (or one datagram, with
 * MSG_TRUNC in *oflags when cut), honouring MSG_PEEK; the source address
 * into ss/sl when given. -EAGAIN when the queue is empty (read the host). */
long sock_rq_read(struct ofd *o, void *buf, size_t len, int flags, struct sockaddr_storage *ss,
		  socklen_t *sl, int *oflags);

/* Appends to the restart queue (restore, and a running domain's drained
 * datagrams). 0 or -ENOMEM. */
int sock_rq_add_bytes(struct ofd *o, const void *p, size_t len);
int sock_rq_add_dgram(struct ofd *o, const void *p, size_t len, const struct sockaddr_storage *ss,
		      socklen_t sl);

struct thread;
/* Waits, the domain lock dropped, for events on a host fd in slices:
 * 1 ready, 0 to return -ERESTART_SYSCALL (pause, signal, exit), -errno. */
int sock_wait(struct thread *t, int hfd, short events);
/* SIGPIPE to the calling thread, as a write to a closed connection raises. */
void sock_sigpipe(struct thread *t);

#endif
