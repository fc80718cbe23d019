/* netns.h: a domain's own network namespace (`net = { mode = "netns"; }`) — an address on the pdvm0 bridge, NAT to the outside, published ports — set up and torn down with ip and nft; leftovers of a crashed pdvm removed at the next start. */
#ifndef PDVM_NETNS_H
#define PDVM_NETNS_H

#include <stdbool.h>
#include <stddef.h>

/* A domain's network, as domain.cfg's net group says. */
struct net_spec {
	char *mode;          /* NULL: the host's network; "netns": a namespace of its own */
	char **publish;      /* NULL-terminated "HOSTPORT:DOMAINPORT[/udp]" */
	char *address;       /* the domain's address; NULL: a free one */
};

#define NETNS_BRIDGE    "pdvm0"
#define NETNS_GATEWAY   "10.231.0.1"    /* the bridge's address: the host, seen from a domain */
#define NETNS_PREFIX    "10.231.0."     /* domains take .2 to .254 */

/* Frees the strings of n and clears it. */
void net_spec_free(struct net_spec *n);

/* Whether a and b place a domain alike (mode, address, published ports). */
bool net_spec_same(const struct net_spec *a, const struct net_spec *b);
/* Parses "HOSTPORT:DOMAINPORT" or ".../udp". 0 or -1. */
int netns_parse_publish(const char *s, unsigned *hport, unsigned *dport, bool *udp);
/* Whether s is an address a domain may take (NETNS_PREFIX .2 to .254). */
bool netns_address_ok(const char *s);

#define NETNS_ADDR_LEN  32

/* Before any thread exists: removes stale namespaces, creates pdvm-NAME with
 * its veth on the bridge, its address (n->address, or a free one), NAT and
 * published ports, and moves the process into it; teardown is registered
 * for exit. The address taken is written to addr. 0, or -errno with a
 * message. */
int netns_enter(const char *name, const struct net_spec *n, char addr[NETNS_ADDR_LEN], char *err,
		size_t errlen);
/* Removes what netns_enter made (also run at exit). */
void netns_leave(void);

#endif
