/* scm.h: control messages of sendmsg/recvmsg — SCM_RIGHTS between a domain's processes as host fds, SCM_CREDENTIALS with guest pids, other ancillary data passed as it is. */
#ifndef PDVM_SCM_H
#define PDVM_SCM_H

#include <stddef.h>
#include <stdint.h>

struct domain;
struct ofd;

#define SCM_CTL_MAX     8192    /* control bytes per call (Linux: optmem_max, 20 KiB) */

/* The guest's control data (gctl, glen bytes) for socket `sock` as the
 * host's: SCM_RIGHTS guest fds become host fds, their descriptions held in
 * held[] (up to *nheld on entry; the count on return) until the call is
 * done; SCM_CREDENTIALS on a UNIX socket must be the sender's own (EPERM)
 * and carry pdvm's pid to the host. The host length, or -errno (EBADF,
 * EINVAL, ENOBUFS, EPERM, EOPNOTSUPP). */
long scm_to_host(struct domain *d, struct ofd *sock, const uint8_t *gctl, size_t glen, uint8_t *hctl,
		 size_t hcap, struct ofd **held, int *nheld);

/* The host's control data received on `sock` as the guest's: each received
 * host fd becomes a guest fd (its existing description when the domain has
 * it open, else a new one; close-on-exec with cloexec). Fds that do not fit
 * are closed and *ctrunc set, as Linux does. SCM_CREDENTIALS name the
 * sending guest process (0 for one outside the domain). The guest length. */
size_t scm_to_guest(struct domain *d, struct ofd *sock, const uint8_t *hctl, size_t hlen, uint8_t *gctl,
		    size_t gcap, int cloexec, int *ctrunc);

#endif
