/* containerfs.c: what a container runtime mounts in a root — proc, a read-only sysfs, and a small tmpfs /dev with the harmless devices, a devpts instance of its own and the usual links, as runc makes them (pdvm run --container-fs; pdvm-oci for an engine's mounts). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "tools/config.h"
#include "tools/containerfs.h"
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

/* A file system of type on DIR in the root (made if missing). */
static int mount_at(const char *root, const char *dir, const char *type, unsigned long flags, const char *opts,
		    char *err, size_t n)
{
	char at[64];
	int fd = volume_target(root, dir, VOLUME_MAKE_DIR, err, n);
	if (fd < 0)
		return -1;
	snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
	int r = mount(type, at, type, flags, opts);
	if (r < 0)
		snprintf(err, n, "%s on %s%s: %s", type, root, dir, strerror(errno));
	close(fd);
	return r;
}

int containerfs_setup(const char *cmd, struct domain_config *cfg)
{
	const char *root = cfg->dom.root ? cfg->dom.root : "/";
	char err[1200];
	if (!cfg->container_fs)
		return 0;
	if (!strcmp(root, "/")) {
		fprintf(stderr, "pdvm %s: --container-fs: the root is the host's /: its /proc, /sys and /dev stay\n", cmd);
		return -1;
	}
	/* Not nodev on /dev: the devices below must open. 64 MiB as runc's. */
	if (mountns_own(err, sizeof(err)) < 0 ||
	    mount_at(root, "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err, sizeof(err)) < 0 ||
	    mount_at(root, "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err, sizeof(err)) < 0 ||
	    mount_at(root, "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", err, sizeof(err)) < 0) {
		fprintf(stderr, "pdvm %s: --container-fs: %s\n", cmd, err);
		return -1;
	}
	/* The tmpfs, as the path names it now. */
	int fd = volume_target(root, "/dev", VOLUME_LOOKUP, err, sizeof(err));
	int r = fd < 0 ? -1 : populate(fd, err, sizeof(err));
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		fprintf(stderr, "pdvm %s: --container-fs: %s\n", cmd, err);
		return -1;
	}
	return 0;
}
