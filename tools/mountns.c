/* mountns.c: pdvm's own mount namespace — made once, for the domain's private /dev/shm and its volumes. */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "tools/mountns.h"

/*
 * Why a mount namespace: the guest's paths are resolved by the host kernel
 * inside the root (vmm/path.c), so what a domain sees mounted must be
 * mounted in the root as pdvm sees the file system, and nowhere anybody
 * else looks. unshare(CLONE_NEWNS) gives pdvm (and no other process) its
 * own view; MS_SLAVE lets the host's later mounts (a netns's
 * /run/netns/NAME) still reach it while none of pdvm's leaves it. It must
 * run while pdvm has one thread (CLONE_NEWNS implies CLONE_FS).
 */
int mountns_own(char *err, size_t errlen)
{
	static bool done;

	if (done)
		return 0;
	if (unshare(CLONE_NEWNS) < 0) {
		int e = errno;
		snprintf(err, errlen, "a mount namespace of pdvm's own: unshare: %s", strerror(e));
		return -e;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		int e = errno;
		snprintf(err, errlen, "making pdvm's mounts its own: %s", strerror(e));
		return -e;
	}
	done = true;
	return 0;
}
