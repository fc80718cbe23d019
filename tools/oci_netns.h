/* oci_netns.h: a container's network — the engine's namespace joined, its net.* sysctls set. */
#ifndef PDVM_OCI_NETNS_H
#define PDVM_OCI_NETNS_H

#include <stddef.h>

/* Moves the calling process (single-threaded: pdvm-oci before it forks the
 * container's process) into the network namespace at path, then writes
 * each "net.x.y=value" of sysctl (NULL-terminated, may be NULL) under
 * /proc/sys there. 0, or -1 with why in err. */
int oci_netns_join(const char *path, char *const *sysctl, char *err, size_t errlen);

/* A network namespace of the calling process's own, as a config's network
 * namespace without a path asks: only a loopback, brought up; then the
 * sysctls as above. 0, or -1 with why in err. */
int oci_netns_new(char *const *sysctl, char *err, size_t errlen);

#endif
