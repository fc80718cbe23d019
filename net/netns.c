/* netns.c: the netns network mode — namespace pdvm-NAME, veth to bridge pdvm0, NAT and published ports in nft table ip pdvm-NAME, owner records under /run/pdvm/net for cleaning up after a crash. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netns.h"
#include "tool.h"

#define REC_DIR "/run/pdvm/net"

static struct {
	bool active;
	char name[80];          /* pdvm-NAME: the namespace and the nft table */
	char rec[160];
	int recfd;              /* the record, held open and locked while we live */
	int hostns;             /* the host's namespace, to tear down from */
} cur = { .recfd = -1, .hostns = -1 };

int netns_parse_publish(const char *s, unsigned *hport, unsigned *dport, bool *udp)
{
	char tail[8] = "";
	int n = 0;
	*udp = false;
	if (sscanf(s, "%u:%u%n", hport, dport, &n) != 2)
		return -1;
	if (s[n] == '/') {
		snprintf(tail, sizeof(tail), "%s", s + n + 1);
		if (strcmp(tail, "udp") && strcmp(tail, "tcp"))
			return -1;
		*udp = !strcmp(tail, "udp");
	} else if (s[n]) {
		return -1;
	}
	return *hport >= 1 && *hport <= 65535 && *dport >= 1 && *dport <= 65535 ? 0 : -1;
}

bool netns_address_ok(const char *s)
{
	unsigned v;
	int n = 0;
	size_t pl = strlen(NETNS_PREFIX);
	return !strncmp(s, NETNS_PREFIX, pl) && sscanf(s + pl, "%u%n", &v, &n) == 1 && !s[pl + (size_t)n] &&
	       v >= 2 && v <= 254 && s[pl] != '0';
}

static int ip(const char *const args[], const char *input, char *err, size_t errlen)
{
	return tool_run("ip", args, input, NULL, 0, err, errlen);
}

/* Removes namespace and table `name` and its record (errors ignored), from
 * the host's namespace. */
static void remove_ns(const char *name, const char *rec)
{
	char err[256], s[160];
	tool_run_host("ip", (const char *const[]){ "netns", "del", name, NULL }, NULL, err, sizeof(err));
	snprintf(s, sizeof(s), "add table ip %s\ndelete table ip %s\n", name, name);
	tool_run_host("nft", (const char *const[]){ "-f", "-", NULL }, s, err, sizeof(err));
	if (rec)
		unlink(rec);
}

/* Records of owners that are gone: their namespaces and rules go. The
 * addresses of the live ones are marked in used[]. An owner is alive while
 * it holds its record's lock: the kernel drops that lock at exit, before
 * the process is reaped (a zombie still answers kill(pid, 0)) and before
 * its pid can be reused. */
static void sweep(bool used[256])
{
	DIR *dir = opendir(REC_DIR);
	struct dirent *e;
	while (dir && (e = readdir(dir))) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".rec"))
			continue;
		char path[600], name[300], addr[32] = "";
		snprintf(path, sizeof(path), "%s/%s", REC_DIR, e->d_name);
		snprintf(name, sizeof(name), "%.*s", (int)(l - 4), e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		FILE *f = fdopen(fd, "re");
		long pid = 0;
		if (f && fscanf(f, "%ld %31s", &pid, addr) < 1)
			pid = 0;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			unsigned v;
			if (sscanf(addr, NETNS_PREFIX "%u", &v) == 1 && v < 256)
				used[v] = true;
		} else {
			fprintf(stderr, "pdvm: removing network namespace %s of a pdvm that is gone (pid %ld)\n",
				name, pid);
			remove_ns(name, path);
		}
		if (f)
			fclose(f);
		else
			close(fd);
	}
	if (dir)
		closedir(dir);
}

/* Our record: pid and address, written under a temporary name, locked,
 * then renamed into place, so that no sweep ever sees it unlocked. */
static void rec_write(const char *addr)
{
	char tmp[200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", cur.rec);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (flock(fd, LOCK_EX) < 0 || dprintf(fd, "%ld %s\n", (long)getpid(), addr) < 0 || rename(tmp, cur.rec) < 0) {
		unlink(tmp);
		close(fd);
		return;
	}
	cur.recfd = fd;
}

static int sysctl_set(const char *path, const char *v, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, v, strlen(v)) != (ssize_t)strlen(v)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

/* NAT to the outside, and each published port (also from the host's own
 * 127.0.0.1, as `curl localhost:PORT` expects). Only a SYN starts a NATed
 * TCP connection: a connection restored here from another host (a
 * migration) is picked up by conntrack mid-stream, and masquerading its
 * first segment would hide the domain's address from a peer that connected
 * to it, whose stack would answer with a reset. */
static int nat_rules(const struct net_spec *c, const char *addr, char *err, size_t errlen)
{
	size_t cap = 2048 + 512 * (size_t)(c->publish ? 64 : 1), off;
	char *s = malloc(cap);
	if (!s)
		return -ENOMEM;
	const char *t = cur.name;
	off = (size_t)snprintf(s, cap,
		"add table ip %s\n"
		"add chain ip %s post { type nat hook postrouting priority 100; }\n"
		"add chain ip %s pre { type nat hook prerouting priority -100; }\n"
		"add chain ip %s out { type nat hook output priority -100; }\n"
		"add rule ip %s post ip saddr %s oifname != \"" NETNS_BRIDGE "\" tcp flags & (syn | ack) != syn return\n"
		"add rule ip %s post ip saddr %s oifname != \"" NETNS_BRIDGE "\" masquerade\n"
		"add rule ip %s post ip saddr 127.0.0.0/8 ip daddr %s masquerade\n",
		t, t, t, t, t, addr, t, addr, t, addr);
	for (int i = 0; c->publish && c->publish[i] && off < cap - 512; i++) {
		unsigned hp, dp;
		bool udp;
		if (netns_parse_publish(c->publish[i], &hp, &dp, &udp)) {
			snprintf(err, errlen, "publish: '%s' is not HOSTPORT:DOMAINPORT", c->publish[i]);
			free(s);
			return -EINVAL;
		}
		const char *pr = udp ? "udp" : "tcp";
		off += (size_t)snprintf(s + off, cap - off,
			"add rule ip %s pre fib daddr type local %s dport %u dnat to %s:%u\n"
			"add rule ip %s out fib daddr type local %s dport %u dnat to %s:%u\n",
			t, pr, hp, addr, dp, t, pr, hp, addr, dp);
	}
	int r = tool_nft(s, err, errlen);
	free(s);
	return r;
}

int netns_enter(const char *name, const struct net_spec *c, char addr[NETNS_ADDR_LEN], char *err, size_t errlen)
{
	bool used[256] = { false };
	char e2[512], hostif[16], cidr[40];
	int r;
	mkdir("/run/pdvm", 0755);
	mkdir(REC_DIR, 0755);
	sweep(used);
	snprintf(cur.name, sizeof(cur.name), "pdvm-%s", name);
	snprintf(cur.rec, sizeof(cur.rec), REC_DIR "/%s.rec", cur.name);
	if (c->address) {
		unsigned v;
		if (sscanf(c->address, NETNS_PREFIX "%u", &v) == 1 && v < 256 && used[v]) {
			snprintf(err, errlen, "address %s is taken by another domain here", c->address);
			return -EADDRINUSE;
		}
		snprintf(addr, NETNS_ADDR_LEN, "%s", c->address);
	} else {
		int v = 2;
		while (v < 255 && used[v])
			v++;
		if (v == 255) {
			snprintf(err, errlen, "no free address left in " NETNS_PREFIX "0/24");
			return -EADDRNOTAVAIL;
		}
		snprintf(addr, NETNS_ADDR_LEN, NETNS_PREFIX "%d", v);
	}
	unsigned h = 5381;
	for (const char *p = name; *p; p++)
		h = h * 33 + (unsigned char)*p;
	snprintf(hostif, sizeof(hostif), "pv%08x", h);
	snprintf(cidr, sizeof(cidr), "%s/24", addr);
	cur.hostns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (cur.hostns < 0) {
		snprintf(err, errlen, "/proc/self/ns/net: %s", strerror(errno));
		return -errno;
	}
	/* The bridge is shared by all domains and stays. */
	ip((const char *const[]){ "link", "add", NETNS_BRIDGE, "type", "bridge", NULL }, NULL, e2, sizeof(e2));
	ip((const char *const[]){ "addr", "replace", NETNS_GATEWAY "/24", "dev", NETNS_BRIDGE, NULL }, NULL, e2, sizeof(e2));
	if ((r = ip((const char *const[]){ "link", "set", NETNS_BRIDGE, "up", NULL }, NULL, err, errlen)))
		return r;
	if ((r = ip((const char *const[]){ "netns", "add", cur.name, NULL }, NULL, err, errlen))) {
		snprintf(e2, sizeof(e2), "%s", err);
		snprintf(err, errlen, "network namespace %s: %s (is a domain named %s running?)", cur.name, e2, name);
		return r;
	}
	cur.active = true;
	rec_write(addr);
	atexit(netns_leave);
	char host_batch[256], ns_batch[256];
	snprintf(host_batch, sizeof(host_batch), "link add %s type veth peer name eth0 netns %s\n"
		 "link set %s master " NETNS_BRIDGE " up\n", hostif, cur.name, hostif);
	snprintf(ns_batch, sizeof(ns_batch), "addr add %s dev eth0\nlink set eth0 up\nlink set lo up\n"
		 "route add default via " NETNS_GATEWAY "\n", cidr);
	if ((r = ip((const char *const[]){ "-batch", "-", NULL }, host_batch, err, errlen)) ||
	    (r = ip((const char *const[]){ "-n", cur.name, "-batch", "-", NULL }, ns_batch, err, errlen)) ||
	    (r = sysctl_set("/proc/sys/net/ipv4/ip_forward", "1\n", err, errlen)) ||
	    (r = sysctl_set("/proc/sys/net/ipv4/conf/all/route_localnet", "1\n", err, errlen)) ||
	    (r = nat_rules(c, addr, err, errlen)))
		return r;
	char nspath[160];
	snprintf(nspath, sizeof(nspath), "/run/netns/%s", cur.name);
	int fd = open(nspath, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		r = -errno;
		snprintf(err, errlen, "entering %s: %s", nspath, strerror(errno));
		if (fd >= 0)
			close(fd);
		return r;
	}
	close(fd);
	/* The namespace is the domain's own: its unprivileged program may
	 * serve on port 80 there, as docker allows in a container's. */
	if ((r = sysctl_set("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0\n", err, errlen)))
		return r;
	return 0;
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool net_spec_same(const struct net_spec *a, const struct net_spec *b)
{
	if (!str_same(a->mode, b->mode) || !str_same(a->address, b->address))
		return false;
	size_t i = 0;
	for (; a->publish && a->publish[i]; i++)
		if (!b->publish || !str_same(a->publish[i], b->publish[i]))
			return false;
	return !b->publish || !b->publish[i];
}

void net_spec_free(struct net_spec *n)
{
	free(n->mode);
	for (char **p = n->publish; p && *p; p++)
		free(*p);
	free(n->publish);
	free(n->address);
	n->mode = n->address = NULL;
	n->publish = NULL;
}

void netns_leave(void)
{
	if (!cur.active)
		return;
	cur.active = false;
	/* The spawner works from the host's namespace; without it, go back
	 * there (a filtered pdvm may not setns: it has the spawner). */
	if (!tool_spawner_running() && cur.hostns >= 0 && setns(cur.hostns, CLONE_NEWNET) < 0)
		fprintf(stderr, "pdvm: back to the host's network namespace: %s\n", strerror(errno));
	remove_ns(cur.name, cur.rec);
	if (cur.recfd >= 0)
		close(cur.recfd);
	cur.recfd = -1;
}
