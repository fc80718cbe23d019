/* masks.h: paths of a domain's root hidden (masked) or made read-only, as an OCI runtime does. */
#ifndef PDVM_MASKS_H
#define PDVM_MASKS_H

/* Over each of cfg's masked paths that exists in the root, an empty view
 * (/dev/null over a file, an empty read-only tmpfs over a directory);
 * each of its read-only paths that exists is remounted read-only. In
 * pdvm's own mount namespace, after the volumes (a mask may cover part
 * of one); pdvm must still have a single thread. Paths the root lacks need
 * nothing, as with runc. 0 or -1 (said on stderr). */
struct domain_config;
int masks_setup(const char *cmd, struct domain_config *cfg);

#endif
