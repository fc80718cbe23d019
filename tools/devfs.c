/* devfs.c: a container's /dev — a small tmpfs on ROOT/dev with the harmless devices, a devpts instance of its own and the usual links, as runc makes one (pdvm run --private-dev; pdvm-oci for an engine's /dev mount). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "tools/config.h"
#include "tools/devfs.h"
#include "tools/mountns.h"
#include "tools/volumes.h"

/* The devices a program expects (vmm/path.c lets it write these in a
 * read-only tree too); nothing else of the host's /dev is there. */
static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };

static const struct { const char *name, *to; } links[] = {
	{ "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
	{ "stderr", "/proc/self/fd/2" }, { "ptmx", "pts/ptmx" },
};

static int populate(int dir, char *err, size_t n)
{
	char host[64], at[64];
	struct stat st;
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		snprintf(host, sizeof(host), "/dev/%s", devices[i]);
		if (stat(host, &st) < 0 || !S_ISCHR(st.st_mode) ||
		    mknodat(dir, devices[i], S_IFCHR | 0666, st.st_rdev) < 0 || fchmodat(dir, devices[i], 0666, 0) < 0) {
			snprintf(err, n, "/dev/%s: %s", devices[i], strerror(errno));
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i].to, dir, links[i].name) < 0) {
			snprintf(err, n, "/dev/%s: %s", links[i].name, strerror(errno));
			return -1;
		}
	if (mkdirat(dir, "pts", 0755) < 0 || mkdirat(dir, "shm", 01777) < 0 || fchmodat(dir, "shm", 01777, 0) < 0 ||
	    mkdirat(dir, "mqueue", 01777) < 0 || fchmodat(dir, "mqueue", 01777, 0) < 0) {
		snprintf(err, n, "/dev's directories: %s", strerror(errno));
		return -1;
	}
	/* Its own instance: the ptys it opens are its, none of the host's
	 * are listed. */
	int pts = openat(dir, "pts", O_PATH | O_DIRECTORY | O_CLOEXEC);
	snprintf(at, sizeof(at), "/proc/self/fd/%d", pts);
	int r = pts < 0 ? -1 : mount("devpts", at, "devpts", MS_NOSUID | MS_NOEXEC,
				      "newinstance,ptmxmode=0666,mode=0620");
	if (r < 0)
		snprintf(err, n, "/dev/pts: a devpts instance: %s", strerror(errno));
	if (pts >= 0)
		close(pts);
	return r;
}

int devfs_setup(const char *cmd, struct domain_config *cfg)
{
	const char *root = cfg->dom.root ? cfg->dom.root : "/";
	char err[1200], at[64];
	if (!cfg->private_dev)
		return 0;
	if (!strcmp(root, "/")) {
		fprintf(stderr, "pdvm %s: --private-dev: the root is the host's /: its /dev stays\n", cmd);
		return -1;
	}
	int fd = mountns_own(err, sizeof(err));
	if (fd >= 0)
		fd = volume_target(root, "/dev", VOLUME_MAKE_DIR, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "pdvm %s: --private-dev: %s\n", cmd, err);
		return -1;
	}
	snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
	/* Not nodev: the devices below must open. 64 MiB as runc's. */
	int r = mount("pdvm-dev", at, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
	close(fd);
	if (r < 0) {
		fprintf(stderr, "pdvm %s: --private-dev: a tmpfs on %s/dev: %s\n", cmd, root, strerror(errno));
		return -1;
	}
	/* The tmpfs, as the path names it now. */
	fd = volume_target(root, "/dev", VOLUME_LOOKUP, err, sizeof(err));
	r = fd < 0 ? -1 : populate(fd, err, sizeof(err));
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		fprintf(stderr, "pdvm %s: --private-dev: %s\n", cmd, err);
		return -1;
	}
	return 0;
}
