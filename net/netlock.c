/* netlock.c: the network lock of a TCP checkpoint as an nftables chain (run through the nft tool), dropping each frozen connection's incoming segments at priority -300, before conntrack. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netlock.h"

extern char **environ;

static const char *nft_path(void)
{
	static const char *const cand[] = { "/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft" };
	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++)
		if (access(cand[i], X_OK) == 0)
			return cand[i];
	return NULL;
}

/* Runs `nft -f -` on script; its stderr goes into err. */
static int nft_run(const char *script, char *err, size_t errlen)
{
	const char *nft = nft_path();
	if (!nft) {
		snprintf(err, errlen, "the nft tool (Debian package nftables) is not installed");
		return -ENOENT;
	}
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	char *argv[] = { (char *)nft, "-f", "-", NULL };
	pid_t pid;
	int e = posix_spawn(&pid, nft, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (e) {
		close(in[1]);
		close(out[0]);
		snprintf(err, errlen, "running %s: %s", nft, strerror(e));
		return -e;
	}
	/* The scripts are small (one line per connection): they fit the pipe. */
	size_t len = strlen(script), off = 0;
	while (off < len) {
		ssize_t w = write(in[1], script + off, len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(in[1]);
	char msg[512];
	size_t got = 0;
	ssize_t n;
	while ((n = read(out[0], msg + got, sizeof(msg) - 1 - got)) > 0 && got < sizeof(msg) - 1)
		got += (size_t)n;
	msg[got] = '\0';
	close(out[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	char *nl = strchr(msg, '\n');
	if (nl)
		*nl = '\0';
	snprintf(err, errlen, "nft: %s", got ? msg : "failed");
	return strstr(msg, "ermission") || strstr(msg, "not permitted") ? -EPERM : -EIO;
}

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

int netlock_rule(const char *name, const struct netlock_conn *c, char *buf, size_t len)
{
	char la[INET6_ADDRSTRLEN], pa[INET6_ADDRSTRLEN];
	uint16_t lp, pp;
	struct in_addr l4, p4;
	const char *fam;
	if (as_v4(&c->local, &l4, &lp) && as_v4(&c->peer, &p4, &pp)) {
		inet_ntop(AF_INET, &l4, la, sizeof(la));
		inet_ntop(AF_INET, &p4, pa, sizeof(pa));
		fam = "ip";
	} else if (c->local.ss_family == AF_INET6 && c->peer.ss_family == AF_INET6) {
		const struct sockaddr_in6 *l = (const void *)&c->local, *p = (const void *)&c->peer;
		inet_ntop(AF_INET6, &l->sin6_addr, la, sizeof(la));
		inet_ntop(AF_INET6, &p->sin6_addr, pa, sizeof(pa));
		lp = ntohs(l->sin6_port);
		pp = ntohs(p->sin6_port);
		fam = "ip6";
	} else {
		return -EAFNOSUPPORT;
	}
	int n = snprintf(buf, len, "add rule inet pdvm %s %s saddr %s %s daddr %s tcp sport %u tcp dport %u drop\n",
			 name, fam, pa, fam, la, pp, lp);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

int netlock_add(const char *name, const struct netlock_conn *c, int n, char *err, size_t errlen)
{
	size_t cap = 256 + (size_t)n * 256, off;
	char *s = malloc(cap);
	if (!s)
		return -ENOMEM;
	off = (size_t)snprintf(s, cap, "add table inet pdvm\n"
			       "add chain inet pdvm %s { type filter hook input priority -300; policy accept; }\n",
			       name);
	for (int i = 0; i < n; i++) {
		int k = netlock_rule(name, &c[i], s + off, cap - off);
		if (k < 0) {
			free(s);
			snprintf(err, errlen, "connection %d: address family not supported by the lock", i);
			return k;
		}
		off += (size_t)k;
	}
	int r = nft_run(s, err, errlen);
	free(s);
	return r;
}

int netlock_del(const char *name, char *err, size_t errlen)
{
	char s[256], list[256];
	/* Only if present: nft fails the whole script on a missing chain. */
	snprintf(list, sizeof(list), "list chain inet pdvm %s\n", name);
	char ignore[128];
	if (nft_run(list, ignore, sizeof(ignore)))
		return 0;
	snprintf(s, sizeof(s), "flush chain inet pdvm %s\ndelete chain inet pdvm %s\n", name, name);
	return nft_run(s, err, errlen);
}
