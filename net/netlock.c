/* netlock.c: the network lock of a TCP checkpoint as an nftables chain (run through the nft tool, net/tool.c), dropping each frozen connection's incoming segments at priority -300, before conntrack. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netlock.h"
#include "tool.h"

/* The IPv4 address of a v4 or v4-mapped v6 address, for `ip` rules. */
static bool as_v4(const struct sockaddr_storage *ss, struct in_addr *a, uint16_t *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
		*a = s->sin_addr;
		*port = ntohs(s->sin_port);
		return true;
	}
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(a, &s6->sin6_addr.s6_addr[12], 4);
		*port = ntohs(s6->sin6_port);
		return true;
	}
	return false;
}

int netlock_rule(const struct netlock_conn *c, char *buf, size_t len, bool *v6)
{
	char la[INET6_ADDRSTRLEN], pa[INET6_ADDRSTRLEN];
	uint16_t lp, pp;
	struct in_addr l4, p4;
	if (as_v4(&c->local, &l4, &lp) && as_v4(&c->peer, &p4, &pp)) {
		inet_ntop(AF_INET, &l4, la, sizeof(la));
		inet_ntop(AF_INET, &p4, pa, sizeof(pa));
		*v6 = false;
	} else if (c->local.ss_family == AF_INET6 && c->peer.ss_family == AF_INET6) {
		const struct sockaddr_in6 *l = (const void *)&c->local, *p = (const void *)&c->peer;
		inet_ntop(AF_INET6, &l->sin6_addr, la, sizeof(la));
		inet_ntop(AF_INET6, &p->sin6_addr, pa, sizeof(pa));
		lp = ntohs(l->sin6_port);
		pp = ntohs(p->sin6_port);
		*v6 = true;
	} else {
		return -EAFNOSUPPORT;
	}
	/* The set element: peer address . peer port . local address . local port. */
	int n = snprintf(buf, len, "%s . %u . %s . %u", pa, pp, la, lp);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

/* One chain and two sets (v4, v6) of connections, matched by one rule each:
 * nft parses a set of elements far faster than as many rules. */
int netlock_add(const char *name, const struct netlock_conn *c, int n, char *err, size_t errlen)
{
	size_t cap = 1024 + (size_t)n * 128, off;
	char *s = malloc(cap), *e4 = malloc(cap), *e6 = malloc(cap);
	size_t o4 = 0, o6 = 0;
	int r = 0;
	if (!s || !e4 || !e6) {
		r = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		char el[160];
		bool v6;
		int k = netlock_rule(&c[i], el, sizeof(el), &v6);
		if (k < 0) {
			snprintf(err, errlen, "connection %d: address family not supported by the lock", i);
			r = k;
			goto out;
		}
		char *dst = v6 ? e6 : e4;
		size_t *o = v6 ? &o6 : &o4;
		*o += (size_t)snprintf(dst + *o, cap - *o, "%s%s", *o ? ", " : "", el);
	}
	off = (size_t)snprintf(s, cap, "add table inet pdvm\n"
			       "add chain inet pdvm %s { type filter hook input priority -300; policy accept; }\n"
			       "add set inet pdvm %s4 { type ipv4_addr . inet_service . ipv4_addr . inet_service; }\n"
			       "add set inet pdvm %s6 { type ipv6_addr . inet_service . ipv6_addr . inet_service; }\n"
			       "add rule inet pdvm %s ip saddr . tcp sport . ip daddr . tcp dport @%s4 drop\n"
			       "add rule inet pdvm %s ip6 saddr . tcp sport . ip6 daddr . tcp dport @%s6 drop\n",
			       name, name, name, name, name, name, name);
	if (o4)
		off += (size_t)snprintf(s + off, cap - off, "add element inet pdvm %s4 { %s }\n", name, e4);
	if (o6)
		snprintf(s + off, cap - off, "add element inet pdvm %s6 { %s }\n", name, e6);
	r = tool_nft(s, err, errlen);
out:
	free(s);
	free(e4);
	free(e6);
	return r;
}

int netlock_del(const char *name, char *err, size_t errlen)
{
	char s[1024];
	/* One transaction that holds whether or not the lock is here (another
	 * namespace, already released): add, then delete. */
	snprintf(s, sizeof(s), "add table inet pdvm\n"
		 "add chain inet pdvm %s\nadd set inet pdvm %s4 { type ipv4_addr . inet_service . ipv4_addr . inet_service; }\n"
		 "add set inet pdvm %s6 { type ipv6_addr . inet_service . ipv6_addr . inet_service; }\n"
		 "flush chain inet pdvm %s\ndelete chain inet pdvm %s\ndelete set inet pdvm %s4\ndelete set inet pdvm %s6\n",
		 name, name, name, name, name, name, name);
	return tool_nft(s, err, errlen);
}
