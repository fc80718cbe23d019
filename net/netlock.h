/* netlock.h: freezing TCP connections while an image is taken — nftables rules that drop a connection's incoming segments, so its peer sees neither RST nor lost data until a restore lets it through. */
#ifndef PDVM_NETLOCK_H
#define PDVM_NETLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* One connection as the local socket sees it. */
struct netlock_conn {
	struct sockaddr_storage local, peer;
};

/* Adds chain `name` (table inet pdvm) dropping the peers' segments of the
 * n connections. 0, or -errno with a message (no nft, no privilege). */
int netlock_add(const char *name, const struct netlock_conn *c, int n, char *err, size_t errlen);

/* Removes chain `name`; absent (another namespace, already gone) is fine.
 * 0, or -errno with a message. */
int netlock_del(const char *name, char *err, size_t errlen);

/* Writes one connection as an element of the lock's sets ("peer . port .
 * local . port"; *v6 tells which set) into buf, for netlock_add and the unit
 * test. Returns the length, or -EAFNOSUPPORT / -ENOSPC. */
int netlock_rule(const struct netlock_conn *c, char *buf, size_t len, bool *v6);

#endif
