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
};

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
