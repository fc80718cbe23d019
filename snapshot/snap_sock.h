/* snap_sock.h: what the socket records of an image share — the restart queue's record, option reads, and the UNIX socket records (snap_unix.c). */
#ifndef PDVM_SNAP_SOCK_H
#define PDVM_SNAP_SOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "snap_state.h"
#include "tcp_repair.h"

struct ofd;
struct domain;


/* A socket's queued data: the host queue drained into the live socket's
 * restart queue, then the whole restart queue written (stream bytes or
 * datagrams, and end-of-file). Read back into a new socket's queue: 0,
 * -1 (bad image) or -ENOMEM. */
int snap_sock_put_queue(struct domain *d, struct ofd *o, struct sbuf *b, bool stream);
int snap_sock_get_queue(struct sread *r, struct ofd *o);

/* UNIX sockets. v/n: every description of the domain (to tell whether a
 * peer is the domain's own). snap_unix_finish runs once every description
 * is back: connections by name, closing pair ends whose twin was closed. */
int snap_put_unix(struct domain *d, struct ofd **v, int n, struct ofd *o, struct sbuf *b, char *err,
		  size_t errlen);
int snap_get_unix(struct sread *r, struct domain *d, struct snap_restore *rs, int type, int proto, int flags,
		  struct ofd **out,
		  const char *desc, char *err, size_t errlen);
int snap_unix_finish(struct domain *d, struct snap_restore *rs, bool ok, char *err, size_t errlen);
/* Drops the pairs and connections a load left (snap_unix_finish does). */
void snap_unix_release(struct snap_restore *rs);

#endif
