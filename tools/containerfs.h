/* containerfs.h: what a container runtime mounts in a root — /proc, /sys and a /dev of its own — for a domain whose root has none. */
#ifndef PDVM_CONTAINERFS_H
#define PDVM_CONTAINERFS_H

/* With cfg->container_fs, in pdvm's own mount namespace (made if missing
 * in the root, as runc makes them): proc on ROOT/proc (the domain sees only
 * its own processes in it, as in the host's /proc: vmm/procdir.c), sysfs
 * read-only on ROOT/sys, and on ROOT/dev a tmpfs holding null, zero, full,
 * random, urandom and tty (the host's devices, as mknod makes them), a
 * devpts instance of its own on pts, the shm and mqueue directories, and
 * the links fd, stdin, stdout, stderr and ptmx. Before the private /dev/shm
 * (which mounts on its shm) and the masks (which cover parts of /proc and
 * /sys). pdvm must still have a single thread. 0 or -1 (said on stderr). */
struct domain_config;
int containerfs_setup(const char *cmd, struct domain_config *cfg);

#endif
