/* cred.h: the host identity of host calls made for a guest. */
#ifndef PDVM_CRED_H
#define PDVM_CRED_H

#include <stdbool.h>
#include <stdint.h>

/* Who a domain is on the host, and who the guest's getuid() says it is.
 * as_root: the operator opted in to root (unsafe: host calls for the guest
 * carry uid 0 and every capability); uid and gid are then 0. */
struct dom_cred {
	uint32_t uid, gid;
	bool as_root;
	bool own;       /* pdvm itself runs unprivileged as uid/gid: nothing to change */
	bool map_root;  /* the guest sees uid/gid as 0 (cred_uid_out): a view, no privilege */
};

/* The id a guest sees for a host uid (gid), as a user namespace that maps
 * the domain's id to 0 shows it (map_root): the domain's own id is 0, host
 * 0 is the overflow id (nobody), and every other id is itself (the host
 * is not renumbered: a guest still has only the domain's rights). Without
 * map_root, the host's id. */
#define CRED_OVERFLOW_ID 65534u
uint32_t cred_uid_out(const struct dom_cred *c, uint32_t host);
uint32_t cred_gid_out(const struct dom_cred *c, uint32_t host);
/* The host id for a guest's uid (gid): the inverse. -1 ("leave as is")
 * stays -1. false for an id the view has no host id for (under map_root
 * the domain's own host id: 0 stands for it), which Linux answers EINVAL. */
bool cred_uid_in(const struct dom_cred *c, uint32_t guest, uint32_t *host);
bool cred_gid_in(const struct dom_cred *c, uint32_t guest, uint32_t *host);

/* Makes the calling thread (only it: raw syscalls, not glibc's
 * process-wide broadcast) the domain: real and effective uid/gid the
 * domain's, no supplementary groups, no effective capabilities. The saved
 * uid stays 0 so that cred_leave can come back; nothing a guest asks for
 * reaches setresuid. 0 or -errno (-EPERM for uid 0 without as_root). A
 * no-op for as_root. */
int cred_enter(const struct dom_cred *c);
/* Back to pdvm's own identity (root) on the calling thread, for work the
 * VMM does itself. Cannot fail on a thread cred_enter changed; if the
 * kernel says otherwise, pdvm stops (exit 125) rather than go on as a
 * half-privileged process. */
void cred_leave(const struct dom_cred *c);

#endif
