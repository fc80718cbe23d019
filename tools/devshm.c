/* devshm.c: a domain's private, size-limited /dev/shm — a tmpfs in pdvm's own mount namespace, as a container gets. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "tools/config.h"
#include "tools/devshm.h"
#include "tools/mountns.h"

/* The tmpfs sits at ROOT/dev/shm in pdvm's own mount namespace
 * (tools/mountns.c); it goes when pdvm exits, with the namespace. */
int devshm_private(const char *root, uint64_t size, char *err, size_t errlen)
{
	char dir[4096], opts[64];
	struct stat st;

	if (snprintf(dir, sizeof(dir), "%s/dev/shm", strcmp(root, "/") ? root : "") >= (int)sizeof(dir)) {
		snprintf(err, errlen, "%s/dev/shm: path too long", root);
		return -ENAMETOOLONG;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: %s", dir, errno ? strerror(errno) : "not a directory");
		return -ENOENT;
	}
	int r = mountns_own(err, errlen);
	if (r < 0)
		return r;
	/* Mode 1777 as the host's /dev/shm: any user makes files, removes
	 * only its own. */
	snprintf(opts, sizeof(opts), "size=%llu,mode=1777", (unsigned long long)size);
	if (mount("pdvm-shm", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
		int e = errno;
		snprintf(err, errlen, "mounting a %llu-byte tmpfs on %s: %s", (unsigned long long)size, dir,
			 strerror(e));
		return -e;
	}
	return 0;
}

/* The domain's /dev/shm: a private tmpfs (tools/devshm.c) the domain may
 * write, unless the operator asked for none (size 0). Without the privilege
 * for a mount namespace pdvm keeps the host's, read-only as the rest of the
 * root, and says so when asked for a size or verbose. 0 or -1. */
int devshm_setup(const char *cmd, struct domain_config *cfg)
{
	char err[600];

	if (!cfg->shm_size)
		return 0;
	if (devshm_private(cfg->dom.root ? cfg->dom.root : "/", cfg->shm_size, err, sizeof(err)) < 0) {
		if (cfg->shm_size_set) {
			fprintf(stderr, "pdvm %s: --shm-size: %s\n", cmd, err);
			return -1;
		}
		if (cfg->dom.verbose)
			fprintf(stderr, "pdvm %s: /dev/shm stays the host's, read-only: %s\n", cmd, err);
		return 0;
	}
	cfg->dom.shm_private = true;
	if (config_set(cfg, "writable", "/dev/shm", err, sizeof(err)) < 0) {
		fprintf(stderr, "pdvm %s: %s\n", cmd, err);
		return -1;
	}
	return 0;
}
