/* mountns.h: pdvm's own mount namespace, where a domain's private mounts go. */
#ifndef PDVM_MOUNTNS_H
#define PDVM_MOUNTNS_H

#include <stddef.h>

/* Moves pdvm (which must still have a single thread) into a mount
 * namespace of its own, once: later calls do nothing. Mounts made there
 * are seen by pdvm only and go when it exits; the host's later mounts still
 * reach it (MS_SLAVE). 0, or -errno with why in err (-EPERM unprivileged). */
int mountns_own(char *err, size_t errlen);

#endif
