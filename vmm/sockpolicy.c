/* sockpolicy.c: what an unprivileged process may ask of a socket — types, protocols and options, by an explicit list. */
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include "sockpolicy.h"

/*
 * pdvm's host sockets are made by a root process with every capability, so
 * the host would grant a guest what only CAP_NET_RAW or CAP_NET_ADMIN may
 * have: raw sockets, SO_MARK, IP_TRANSPARENT, the *BUFFORCE options,
 * TCP_REPAIR, netfilter's set-sockopts. Here the guest gets what Linux
 * gives an unprivileged process: the options below go to the host, the
 * privileged ones get the errno Linux gives without the capability, and
 * everything else is ENOPROTOOPT.
 */

int sockpolicy_socket(int family, int type, int proto)
{
	int base = type & 0xf;
	if (family == AF_UNIX)
		return 0;               /* no privilege involved; the host decides */
	/* Route netlink: what net.Interfaces, getifaddrs and `ip addr` read.
	 * The socket is the vCPU thread's, which has no capabilities, so the
	 * host answers a change (RTM_NEWADDR...) with EPERM as it would an
	 * unprivileged process; the other netlink families are not offered. */
	if (family == AF_NETLINK) {
		if ((type & 0xf) != SOCK_RAW && (type & 0xf) != SOCK_DGRAM)
			return -ESOCKTNOSUPPORT;
		return proto == NETLINK_ROUTE ? 0 : -EPROTONOSUPPORT;
	}
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	switch (base) {
	case SOCK_RAW:
	case SOCK_PACKET:
		return -EPERM;          /* CAP_NET_RAW */
	case SOCK_STREAM:
		return proto == 0 || proto == IPPROTO_TCP || proto == IPPROTO_MPTCP ? 0 : -EPROTONOSUPPORT;
	case SOCK_DGRAM:
		if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
			return -EACCES; /* ping sockets: net.ipv4.ping_group_range */
		return proto == 0 || proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE ? 0 : -EPROTONOSUPPORT;
	default:
		return -ESOCKTNOSUPPORT;
	}
}

struct opt_rule {
	int level, opt;
	int deny;                       /* 0: allowed; else the errno without privilege */
	bool nonzero;                   /* denied only for a nonzero value (turning it off is free) */
};

#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif
#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif

#define OK(l, o)           { l, o, 0, false }
#define DENY(l, o, e)      { l, o, e, false }
#define DENY_ON(l, o, e)   { l, o, e, true }

static const struct opt_rule rules[] = {
	OK(SOL_SOCKET, SO_REUSEADDR), OK(SOL_SOCKET, SO_REUSEPORT), OK(SOL_SOCKET, SO_KEEPALIVE),
	OK(SOL_SOCKET, SO_LINGER), OK(SOL_SOCKET, SO_RCVBUF), OK(SOL_SOCKET, SO_SNDBUF),
	OK(SOL_SOCKET, SO_RCVLOWAT), OK(SOL_SOCKET, SO_SNDLOWAT), OK(SOL_SOCKET, SO_RCVTIMEO_OLD),
	OK(SOL_SOCKET, SO_SNDTIMEO_OLD), OK(SOL_SOCKET, SO_RCVTIMEO_NEW), OK(SOL_SOCKET, SO_SNDTIMEO_NEW),
	OK(SOL_SOCKET, SO_BROADCAST), OK(SOL_SOCKET, SO_OOBINLINE), OK(SOL_SOCKET, SO_PASSCRED),
	OK(SOL_SOCKET, SO_TIMESTAMP_OLD), OK(SOL_SOCKET, SO_TIMESTAMPNS_OLD),
	OK(SOL_SOCKET, SO_TIMESTAMP_NEW), OK(SOL_SOCKET, SO_TIMESTAMPNS_NEW),
	OK(SOL_SOCKET, SO_TIMESTAMPING_OLD), OK(SOL_SOCKET, SO_DONTROUTE),
	OK(SOL_SOCKET, SO_INCOMING_CPU), OK(SOL_SOCKET, SO_ZEROCOPY), OK(SOL_SOCKET, SO_MAX_PACING_RATE),
	OK(SOL_SOCKET, SO_PEEK_OFF), OK(SOL_SOCKET, SO_SELECT_ERR_QUEUE), OK(SOL_SOCKET, SO_RXQ_OVFL),
	OK(SOL_SOCKET, SO_WIFI_STATUS), OK(SOL_SOCKET, SO_NOFCS), OK(SOL_SOCKET, SO_LOCK_FILTER),
	OK(SOL_SOCKET, SO_PASSSEC),
	OK(SOL_SOCKET, SO_PRIORITY),         /* values above 6 checked below */
	DENY(SOL_SOCKET, SO_MARK, EPERM), DENY(SOL_SOCKET, SO_RCVBUFFORCE, EPERM),
	DENY(SOL_SOCKET, SO_SNDBUFFORCE, EPERM),
	OK(SOL_SOCKET, SO_BINDTODEVICE), OK(SOL_SOCKET, SO_BINDTOIFINDEX),   /* unprivileged since 5.7 */
	DENY_ON(SOL_SOCKET, SO_DEBUG, EACCES),
	DENY_ON(SOL_SOCKET, SO_BUSY_POLL, EPERM), DENY_ON(SOL_SOCKET, SO_PREFER_BUSY_POLL, EPERM),
	DENY_ON(SOL_SOCKET, SO_BUSY_POLL_BUDGET, EPERM),

	OK(IPPROTO_IP, IP_TOS), OK(IPPROTO_IP, IP_TTL), OK(IPPROTO_IP, IP_RECVTTL),
	OK(IPPROTO_IP, IP_RECVTOS), OK(IPPROTO_IP, IP_PKTINFO), OK(IPPROTO_IP, IP_MTU_DISCOVER),
	OK(IPPROTO_IP, IP_RECVERR), OK(IPPROTO_IP, IP_OPTIONS), OK(IPPROTO_IP, IP_RECVOPTS),
	OK(IPPROTO_IP, IP_RETOPTS), OK(IPPROTO_IP, IP_FREEBIND), OK(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT),
	OK(IPPROTO_IP, IP_RECVORIGDSTADDR), OK(IPPROTO_IP, IP_MINTTL), OK(IPPROTO_IP, IP_PASSSEC),
	OK(IPPROTO_IP, IP_MULTICAST_IF), OK(IPPROTO_IP, IP_MULTICAST_TTL),
	OK(IPPROTO_IP, IP_MULTICAST_LOOP), OK(IPPROTO_IP, IP_MULTICAST_ALL),
	OK(IPPROTO_IP, IP_ADD_MEMBERSHIP), OK(IPPROTO_IP, IP_DROP_MEMBERSHIP),
	OK(IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP), OK(IPPROTO_IP, IP_DROP_SOURCE_MEMBERSHIP),
	OK(IPPROTO_IP, IP_BLOCK_SOURCE), OK(IPPROTO_IP, IP_UNBLOCK_SOURCE),
	DENY(IPPROTO_IP, IP_TRANSPARENT, EPERM),

	OK(IPPROTO_IPV6, IPV6_V6ONLY), OK(IPPROTO_IPV6, IPV6_TCLASS), OK(IPPROTO_IPV6, IPV6_UNICAST_HOPS),
	OK(IPPROTO_IPV6, IPV6_RECVPKTINFO), OK(IPPROTO_IPV6, IPV6_RECVHOPLIMIT),
	OK(IPPROTO_IPV6, IPV6_RECVTCLASS), OK(IPPROTO_IPV6, IPV6_RECVERR),
	OK(IPPROTO_IPV6, IPV6_MTU_DISCOVER), OK(IPPROTO_IPV6, IPV6_MTU), OK(IPPROTO_IPV6, IPV6_FREEBIND),
	OK(IPPROTO_IPV6, IPV6_RECVORIGDSTADDR), OK(IPPROTO_IPV6, IPV6_MULTICAST_IF),
	OK(IPPROTO_IPV6, IPV6_MULTICAST_HOPS), OK(IPPROTO_IPV6, IPV6_MULTICAST_LOOP),
	OK(IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP), OK(IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP),
	DENY(IPPROTO_IPV6, IPV6_TRANSPARENT, EPERM),

	OK(IPPROTO_TCP, TCP_NODELAY), OK(IPPROTO_TCP, TCP_MAXSEG), OK(IPPROTO_TCP, TCP_CORK),
	OK(IPPROTO_TCP, TCP_KEEPIDLE), OK(IPPROTO_TCP, TCP_KEEPINTVL), OK(IPPROTO_TCP, TCP_KEEPCNT),
	OK(IPPROTO_TCP, TCP_SYNCNT), OK(IPPROTO_TCP, TCP_LINGER2), OK(IPPROTO_TCP, TCP_DEFER_ACCEPT),
	OK(IPPROTO_TCP, TCP_WINDOW_CLAMP), OK(IPPROTO_TCP, TCP_QUICKACK), OK(IPPROTO_TCP, TCP_CONGESTION),
	OK(IPPROTO_TCP, TCP_USER_TIMEOUT), OK(IPPROTO_TCP, TCP_FASTOPEN),
	OK(IPPROTO_TCP, TCP_FASTOPEN_CONNECT), OK(IPPROTO_TCP, TCP_NOTSENT_LOWAT),
	OK(IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS), OK(IPPROTO_TCP, TCP_MD5SIG),
	OK(IPPROTO_TCP, TCP_MD5SIG_EXT), OK(IPPROTO_TCP, TCP_SAVE_SYN), OK(IPPROTO_TCP, TCP_TX_DELAY),
	OK(IPPROTO_TCP, TCP_INQ), OK(IPPROTO_TCP, TCP_ULP),
	DENY(IPPROTO_TCP, TCP_REPAIR, EPERM), DENY(IPPROTO_TCP, TCP_REPAIR_QUEUE, EPERM),
	DENY(IPPROTO_TCP, TCP_QUEUE_SEQ, EPERM), DENY(IPPROTO_TCP, TCP_REPAIR_OPTIONS, EPERM),
	DENY(IPPROTO_TCP, TCP_REPAIR_WINDOW, EPERM),

	OK(IPPROTO_UDP, UDP_CORK), OK(IPPROTO_UDP, UDP_SEGMENT), OK(IPPROTO_UDP, UDP_GRO),
};

/* IPv4 and IPv6 netfilter socket options (iptables and friends) sit at 64
 * and up on their level: CAP_NET_ADMIN. */
static bool netfilter_opt(int level, int opt)
{
	return (level == IPPROTO_IP || level == IPPROTO_IPV6) && opt >= 64 && opt < 64 + 32;
}

int sockpolicy_setsockopt(int level, int opt, const void *val, unsigned len)
{
	if (netfilter_opt(level, opt))
		return -EPERM;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (rules[i].level != level || rules[i].opt != opt)
			continue;
		int v = 0;
		if (len >= sizeof(int))
			memcpy(&v, val, sizeof(v));
		if (rules[i].deny && (!rules[i].nonzero || v))
			return -rules[i].deny;
		if (level == SOL_SOCKET && opt == SO_PRIORITY && (v < 0 || v > 6))
			return -EPERM;          /* CAP_NET_ADMIN above TC_PRIO_INTERACTIVE */
		return 0;
	}
	return -ENOPROTOOPT;
}

int sockpolicy_getsockopt(int level, int opt)
{
	if (netfilter_opt(level, opt))
		return -EPERM;
	if (level == IPPROTO_TCP && opt == TCP_ZEROCOPY_RECEIVE)
		return -ENOPROTOOPT;    /* would map pages into pdvm's own address space */
	if (level == SOL_SOCKET)
		return opt == SO_PEERSEC ? -ENOPROTOOPT : 0;
	return level == IPPROTO_TCP || level == IPPROTO_IP || level == IPPROTO_IPV6 || level == IPPROTO_UDP
	       ? 0 : -ENOPROTOOPT;
}
