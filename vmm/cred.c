/* cred.c: per-thread host credentials — the domain's identity for guest work, pdvm's own for its set-up. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "status.h"
#include "cred.h"

/*
 * Credentials are per thread in the kernel; glibc's setresuid() and
 * setgroups() would broadcast to every thread of the process (SIGSETXID),
 * which would take the control and signal threads (which stay root) along.
 * The raw syscalls change only the caller.
 *
 * After cred_enter a thread holds (ruid, euid, suid) = (uid, uid, 0): the
 * kernel clears the effective capability set when the euid leaves 0 but
 * keeps the permitted set while some uid is still 0, which is what lets
 * cred_leave come back with setresuid(0, 0, 0). Every check that uses the
 * fsuid (open, mkdir, connect to a UNIX socket), the euid (bind below 1024,
 * signals) or the ruid (access(2), kill permission) sees the domain.
 */
static long raw(long nr, long a, long b, long c)
{
	return syscall(nr, a, b, c) < 0 ? -errno : 0;
}

int cred_enter(const struct dom_cred *c)
{
	if (c->as_root || c->own)
		return 0;
	/* A zeroed identity is no identity: root only by the explicit opt-in. */
	if (c->uid == 0)
		return -EPERM;
	/* A thread a guest thread created (clone, fork) starts as the domain
	 * already, without the capabilities to set it again. */
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (!getresuid(&ru, &eu, &su) && !getresgid(&rg, &eg, &sg) && ru == c->uid && eu == c->uid &&
	    rg == c->gid && eg == c->gid)
		return 0;
	long r;
	if ((r = raw(SYS_setgroups, 0, 0, 0)) ||
	    (r = raw(SYS_setresgid, c->gid, c->gid, 0)) ||
	    (r = raw(SYS_setresuid, c->uid, c->uid, 0)))
		return (int)r;
	return 0;
}

void cred_leave(const struct dom_cred *c)
{
	if (c->as_root || c->own)
		return;
	long r;
	/* The uid first: setresgid needs the CAP_SETGID it brings back. */
	if ((r = raw(SYS_setresuid, 0, 0, 0)) || (r = raw(SYS_setresgid, 0, 0, 0))) {
		fprintf(stderr, "pdvm: back to root from uid %u: %s\n", c->uid, strerror((int)-r));
		_exit(EXIT_PDVM_ERROR);
	}
}

/* One id space (uids or gids) with the domain's id OWN: host OWN <-> guest
 * 0, host 0 -> overflow, host OWN has no other guest name. */
static uint32_t id_out(bool map, uint32_t own, uint32_t host)
{
	if (!map || own == 0)
		return host;
	return host == own ? 0 : host == 0 ? CRED_OVERFLOW_ID : host;
}

static bool id_in(bool map, uint32_t own, uint32_t guest, uint32_t *host)
{
	*host = guest;
	if (!map || own == 0 || guest == (uint32_t)-1)
		return true;
	if (guest == own)
		return false;
	if (guest == 0)
		*host = own;
	return true;
}

uint32_t cred_uid_out(const struct dom_cred *c, uint32_t host)
{
	return id_out(c->map_root, c->uid, host);
}

uint32_t cred_gid_out(const struct dom_cred *c, uint32_t host)
{
	return id_out(c->map_root, c->gid, host);
}

bool cred_uid_in(const struct dom_cred *c, uint32_t guest, uint32_t *host)
{
	return id_in(c->map_root, c->uid, guest, host);
}

bool cred_gid_in(const struct dom_cred *c, uint32_t guest, uint32_t *host)
{
	return id_in(c->map_root, c->gid, guest, host);
}
