/* masks.c: paths of a domain's root hidden or frozen (OCI maskedPaths, readonlyPaths) by mounts in pdvm's own namespace, as runc does in a container's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/config.h"
#include "tools/masks.h"
#include "tools/mountns.h"
#include "tools/volumes.h"

/* mount(2) names each descriptor through /proc/self/fd (tools/volumes.c). */
static int mask_one(const char *root, const char *path, bool hide, char *err, size_t n)
{
	char to[64];
	struct stat st;
	int fd = volume_target(root, path, VOLUME_LOOKUP, err, n), r = 0;

	if (fd == -ENOENT || fd == -ENOTDIR)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = fd < 0 ? fd : -errno;
		goto out;
	}
	snprintf(to, sizeof(to), "/proc/self/fd/%d", fd);
	if (hide && S_ISDIR(st.st_mode)) {
		if (mount("pdvm-mask", to, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") < 0)
			r = -errno;
	} else if (hide) {
		if (mount("/dev/null", to, NULL, MS_BIND, NULL) < 0)
			r = -errno;
	} else if (mount(to, to, NULL, MS_BIND | MS_REC, NULL) < 0) {
		r = -errno;
	} else {
		/* The remount must name the new bind, which the path now is. */
		close(fd);
		fd = volume_target(root, path, VOLUME_LOOKUP, err, n);
		snprintf(to, sizeof(to), "/proc/self/fd/%d", fd);
		if (fd < 0 || mount(NULL, to, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
			r = fd < 0 ? fd : -errno;
	}
	if (r)
		snprintf(err, n, "%s %s: %s", hide ? "masking" : "making read-only", path, strerror(-r));
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int masks_setup(const char *cmd, struct domain_config *cfg)
{
	const char *root = cfg->dom.root ? cfg->dom.root : "/";
	char err[1200];

	for (int hide = 1; hide >= 0; hide--) {
		char **list = hide ? cfg->masked : cfg->rdonly;
		for (; list && *list; list++) {
			if (mountns_own(err, sizeof(err)) < 0 || mask_one(root, *list, hide, err, sizeof(err)) < 0) {
				fprintf(stderr, "pdvm %s: %s\n", cmd, err);
				return -1;
			}
		}
	}
	return 0;
}
