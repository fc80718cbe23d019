/* sock.h: per-socket state the VMM keeps beside the host socket — the listen backlog, the restart queue a restore fills, the guest pids behind AF_UNIX credentials. */
#ifndef PDVM_SOCK_H
#define PDVM_SOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

struct ofd;
struct domain;

/* A UNIX socket name as the guest gave it — getsockname/getpeername return
 * these bytes (a relative path stays relative, as on Linux) — and, for a
 * path, the absolute guest path an image binds or connects to again. */
struct sock_uname {
	socklen_t len;
	struct sockaddr_un sa;
	char *path;             /* NULL for abstract names */
};

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
	struct sock_uname *local, *peer; /* AF_UNIX names (bind, connect, accept) */
	struct sock_bound *bound;       /* its bound path, as the host knows it */
	struct ofd **aq;        /* a TCP listener's connections an image took out
	                         * of the host's accept queue: accept() hands
	                         * them out first, oldest first */
	int naq;
	struct sockaddr_storage dst; /* a TCP connect()'s target: getpeername */
	socklen_t dstlen;            /* has none before the handshake ends */
	/* AF_UNIX credentials as the guest knows them (guest pids; the host
	 * knows every sender in the domain as pdvm). Not in images. */
	int cred_pid;           /* what this socket's peer reads in SO_PEERCRED:
	                         * the process that made the pair, connected,
	                         * or listened (an accepted socket: the
	                         * listener's) */
	int peer_pid;           /* SO_PEERCRED's pid: the other end's cred_pid
	                         * where it is the domain's; 0 unknown */
	struct sock_pair *pair; /* both ends are the domain's: who sent last */
	int end;                /* this socket's index in pair->sent_by */
};

/* A connection whose two ends are both the domain's (a socketpair, or a
 * connect to a listener of the domain's once accepted): the process that
 * last sent from each end, which SCM_CREDENTIALS names to the other end
 * (the host names pdvm). Shared by the two ends' struct sock. */
struct sock_pair {
	atomic_int refs;
	int sent_by[2];
};

/* Takes the oldest connection of the listener's own queue (NULL when
 * empty); the caller gets the reference. */
struct ofd *sock_aq_pop(struct ofd *listener);
/* Appends a connection to it (takes the reference). 0 or -ENOMEM. */
int sock_aq_add(struct ofd *listener, struct ofd *conn);

/* Copies a name (NULL on ENOMEM or for NULL); frees one. */
/*
 * A UNIX path a socket of this domain is bound to. The host knows it by
 * the /proc/self/fd/N/NAME string bind was given (sock_addr_host), so the
 * source address of a datagram or of accept() from it reads so too: the
 * domain keeps each such string with the guest's own address, and with N
 * held open, so that the string names one socket while it lives.
 */
struct sock_bound {
	struct sock_bound *next, **pprev;   /* the domain's list */
	int dirfd;
	socklen_t hlen, glen;
	struct sockaddr_un host, guest;
};
/* Notes socket s's successful bind of host address (hlen bytes) through
 * dirfd (taken over) as guest name g. */
void sock_bound_add(struct domain *d, struct sock *s, const struct sockaddr_un *host, socklen_t hlen,
		    int dirfd, const struct sock_uname *g);
/* Turns a host UNIX address received from the host into the guest's: a
 * bound path of this domain becomes its guest path, another confined
 * /proc/self/fd/ path an unnamed address. Returns the new length. */
socklen_t sock_bound_guest(const struct domain *d, struct sockaddr_storage *ss, socklen_t sl);

struct sock_uname *sock_uname_dup(const struct sock_uname *u);
void sock_uname_free(struct sock_uname *u);

/*
 * A guest UNIX address for a host call: a path is resolved inside the root
 * (binding needs a writable place) and becomes /proc/self/fd/N/NAME of the
 * confined parent directory; for connect/sendto the whole path resolves in
 * the root and must be a socket, which becomes /proc/self/fd/N of that
 * socket. *dirfd is N (close it after the call; -1 when not a path). pdvm's
 * control directory is never reachable (EACCES). Other families and
 * abstract names pass unchanged. With `name`, a named UNIX address is also
 * returned as a sock_uname for the caller to keep. 0 or -errno.
 */
int sock_addr_host(struct domain *d, struct sockaddr_storage *ss, socklen_t *sl, bool bind, int *dirfd,
		   struct sock_uname **name);

/* The socket state of a socket description, created on first use when
 * `create` (NULL on ENOMEM or when absent). */
struct sock *sock_of(struct ofd *o, bool create);

/* Whether a read (or an accept) would be served from the restart queue. */
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

/* The domain's description of the UNIX socket connected to o's (sock_diag
 * names its inode), or NULL: not connected, not the domain's, or not
 * handed out yet by accept. No reference; valid under the domain lock.
 * *holder (may be NULL) gets the pid of a process with an fd of it. */
struct ofd *sock_unix_peer(struct domain *d, struct ofd *o, int *holder);
/* The domain's listening UNIX socket bound to `name`, or NULL. */
struct ofd *sock_unix_listener(struct domain *d, const struct sock_uname *name);
/* Makes a and b the two ends of one sock_pair. 0 or -ENOMEM. */
int sock_pair_link(struct sock *a, struct sock *b);
/* The guest pid a credential received on o names when the host says it came
 * from pdvm: the process that last sent from the other end, else as
 * sock_peer_pid; 0 when the sender cannot be told (an unconnected
 * datagram). */
int sock_sender_pid(struct domain *d, struct ofd *o);
/* The domain's process behind o's connected peer: the one that made that
 * end (cred_pid), else one holding an fd of it (a connection an image
 * brought back: images keep no pids of sockets); 0 when the peer is not
 * the domain's. */
int sock_peer_pid(struct domain *d, struct ofd *o);

struct thread;
/* Waits, the domain lock dropped, for events on a host fd in slices:
 * 1 ready, 0 to return -ERESTART_SYSCALL (pause, signal, exit), -errno. */
int sock_wait(struct thread *t, int hfd, short events);
/* SIGPIPE to the calling thread, as a write to a closed connection raises. */
void sock_sigpipe(struct thread *t);

#endif
