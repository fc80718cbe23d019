/* tcp_repair.h: TCP connections frozen, recorded and rebuilt through TCP_REPAIR (tcp_repair.c), and the socket helpers the socket records share. */
#ifndef PDVM_TCP_REPAIR_H
#define PDVM_TCP_REPAIR_H

#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sbuf.h"

struct domain;
struct ofd;
struct sock;
struct snap_freeze;
struct snap_restore;

#define SOCK_DATA_MAX   (64u << 20)     /* per queue, in an image */

/* An int socket option of host fd `fd` (0 when it cannot be read); setting
 * one: 0 or -errno. */
int snap_gopt(int fd, int level, int opt);
int snap_sopt(int fd, int level, int opt, int v);
/* "address:port" of an IPv4 or IPv6 address, for messages. */
void snap_addr_text(const struct sockaddr_storage *ss, char *buf, size_t len);

/* TCP_INFO's state of a socket, or -errno; whether a host socket is TCP
 * over IPv4 or IPv6. */
int tcp_state(int fd);
bool tcp_sock(int fd);
/* Whether snap_sock_freeze froze this description (it is written as a
 * connection). */
bool tcp_frozen(const struct snap_freeze *fz, struct ofd *o);

/* A frozen connection's record: its state, queues (the receive side behind
 * what the live socket's restart queue `s` holds) and the lock it is
 * frozen behind. 0 or -errno. */
int tcp_conn_put(struct domain *d, const struct snap_freeze *fz, struct ofd *o, struct sbuf *b,
		 const struct sock *s);

struct tcp_rec {
	char *lock;
	uint32_t state, snd_seq, rcv_seq, mss, opts, snd_ws, rcv_ws, ts;
	struct tcp_repair_window w;
	uint32_t sndbuf, unsent, outq_len, inq_len;
	const uint8_t *outq, *inq;
	bool eof;
};

/* Reads a record (its queues point into the section); r->bad if out of
 * range. */
void tcp_conn_get(struct sread *r, struct tcp_rec *t);
/* A restored connection still in repair mode: it says nothing to its peer,
 * and closing it sends no reset, until tcp_held_go. */
struct tcp_held {
	int fd;                 /* a dup of the socket */
	uint8_t *unsent;        /* queued but never sent: goes out once live */
	uint32_t unsent_len;
	bool fin;               /* the guest had shut down its sending half */
	char what[176];         /* "local -> peer", for messages */
};
/* The connection on a new socket fd, in repair mode, from la to pa; live
 * when it returns, or with hold held in repair mode for tcp_held_go. 0 or
 * -errno with err. */
int tcp_conn_restore(int fd, struct tcp_rec *t, const struct sockaddr_storage *la, socklen_t ll,
		     const struct sockaddr_storage *pa, socklen_t pl, struct tcp_held *hold, char *err,
		     size_t errlen);
/* Takes h's connection out of repair mode (a window probe tells the peer
 * it is back) and sends what was unsent. 0 or -errno with err. */
int tcp_held_go(struct tcp_held *h, char *err, size_t errlen);
/* Frees h's own; the connection stays as it is. */
void tcp_held_drop(struct tcp_held *h);
/* Drops the n held in the array *v and frees it (*v NULL, *n 0 after). */
void tcp_held_free(struct tcp_held **v, int *n);
/* Binds to la even if a connection holds the port (a connect that was in
 * its handshake). 0 or -errno. */
int tcp_bind_forced(int fd, const struct sockaddr_storage *la, socklen_t ll);
/* A network lock a restored connection came from: released by
 * snap_sock_restore_done. */
void tcp_note_lock(struct snap_restore *rs, const char *name);

#endif
