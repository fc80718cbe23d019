/* oci_netns.c: a container's network — pdvm-oci joins the namespace the engine made (CNI set it up), or makes an empty one, and sets the config's net.* sysctls there, so the domain's sockets live in it. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "oci_netns.h"

/* /proc/sys/net is the namespace of whoever opens it: after setns, ours. */
static int set_sysctl(const char *kv, char *err, size_t n)
{
	char path[512];
	const char *eq = strchr(kv, '=');
	if (!eq || (size_t)(eq - kv) > 256) {
		snprintf(err, n, "sysctl %s: want KEY=VALUE", kv);
		return -1;
	}
	int len = snprintf(path, sizeof(path), "/proc/sys/%.*s", (int)(eq - kv), kv);
	for (char *c = path + 10; c < path + len; c++)
		if (*c == '.')
			*c = '/';
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	size_t vl = strlen(eq + 1);
	ssize_t w = fd < 0 ? -1 : write(fd, eq + 1, vl);
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (w != (ssize_t)vl) {
		snprintf(err, n, "config.json: linux.sysctl.%.*s: %s: %s", (int)(eq - kv), kv, path,
			 w < 0 ? strerror(e) : "short write");
		return -1;
	}
	return 0;
}

/* Each of the config's sysctls, in the namespace the caller is now in. */
static int set_sysctls(char *const *sysctl, char *err, size_t n)
{
	for (; sysctl && *sysctl; sysctl++)
		if (set_sysctl(*sysctl, err, n) < 0)
			return -1;
	return 0;
}

int oci_netns_join(const char *path, char *const *sysctl, char *err, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		snprintf(err, n, "config.json: linux.namespaces: joining the network namespace %s: %s", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return set_sysctls(sysctl, err, n);
}

int oci_netns_new(char *const *sysctl, char *err, size_t n)
{
	if (unshare(CLONE_NEWNET) < 0) {
		snprintf(err, n, "config.json: linux.namespaces: a network namespace: %s", strerror(errno));
		return -1;
	}
	/* runc brings lo up in a new one: 127.0.0.1 answers there. */
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0 || (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) < 0)) {
		snprintf(err, n, "config.json: linux.namespaces: bringing lo up: %s", strerror(errno));
		if (s >= 0)
			close(s);
		return -1;
	}
	close(s);
	return set_sysctls(sysctl, err, n);
}
