/* devshm.h: a domain's private, size-limited /dev/shm. */
#ifndef PDVM_DEVSHM_H
#define PDVM_DEVSHM_H

#include <stddef.h>
#include <stdint.h>

/* What a domain's /dev/shm holds at most unless the operator says (docker's
 * --shm-size default). */
#define DEVSHM_DEFAULT_SIZE (64ULL << 20)

/* Mounts a tmpfs of `size` bytes on ROOT/dev/shm in a mount namespace of
 * pdvm's own (pdvm must still have a single thread). 0, or -errno with why
 * in err: -EPERM when pdvm may not make a namespace (run unprivileged),
 * -ENOENT when the root has no /dev/shm directory. */
int devshm_private(const char *root, uint64_t size, char *err, size_t errlen);

/* The domain's /dev/shm as the operator configured it (cfg->shm_size; 0:
 * the host's): mounted, cfg->dom.shm_private set and /dev/shm made
 * writable, or, when pdvm may not mount and no size was asked for, the
 * host's left read-only. cmd names the command in messages. 0 or -1. */
struct domain_config;
int devshm_setup(const char *cmd, struct domain_config *cfg);

#endif
