/* devfs.h: a container's /dev for a domain whose root has none of its own. */
#ifndef PDVM_DEVFS_H
#define PDVM_DEVFS_H

/* With cfg->private_dev: a tmpfs on ROOT/dev (made if missing) in pdvm's
 * own mount namespace, holding null, zero, full, random, urandom and tty
 * (the host's devices, as mknod makes them), a devpts instance of its own
 * on pts, the shm and mqueue directories, and the links fd, stdin, stdout,
 * stderr and ptmx — what runc puts in a container's /dev. Before the
 * private /dev/shm (which mounts on its shm). pdvm must still have a
 * single thread. 0 or -1 (said on stderr). */
struct domain_config;
int devfs_setup(const char *cmd, struct domain_config *cfg);

#endif
