/* config.h: a domain's configuration, from domain.cfg and the command line. */
#ifndef PDVM_CONFIG_H
#define PDVM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/spec.h"
#include "net/netns.h"

/* The machine's part (vmm/spec.h), the network's (net/netns.h), and what
 * only the command line knows. */
struct domain_config {
	struct domain_spec dom;
	struct net_spec net;
	char *user;          /* "root", an account name or UID[:GID]; default CONFIG_DEFAULT_USER;
			      * config_resolve_user puts the answer in dom.cred */
	uint64_t shm_size;   /* the private /dev/shm's size (tools/devshm.h); 0: none */
	bool shm_size_set;   /* given by the operator (else the default, and no
			      * private /dev/shm is no error) */
	char **volumes;      /* "SRC:DST[:ro]" host paths bound into the root (tools/volumes.h) */
	char **tmpfs_mounts; /* "DST[:OPTIONS]" tmpfs mounted in the root (tools/volumes.h) */
	bool container_fs;   /* /proc, /sys and /dev in the root, as a container has (tools/containerfs.h) */
	char **masked;       /* paths in the root hidden, and */
	char **rdonly;       /* made read-only (tools/masks.h) */
	char *trace;         /* where `pdvm record` writes its trace (NULL: --trace says) */
};

/* The account domains run as unless the operator names another:
 * tools/deps.sh creates it (a system account, no login, no home). */
#define CONFIG_DEFAULT_USER "pdvm"

/* Where domain logs go unless the operator says otherwise. */
#define CONFIG_LOG_DIR "/var/log/pdvm"

/* Parses a domain.cfg. On error returns -1 and writes "FILE:LINE: key: why"
 * to err. */
int config_load(struct domain_config *c, const char *path, char *err, size_t errlen);
/* Sets one key from a command-line string (pdvm run --KEY VALUE) with the
 * same checks as the file: name, root, cwd, memory, log replace; writable
 * appends; env adds or overrides one KEY=VALUE (on top of the default
 * environment if none is set yet). On error returns -1 and writes
 * "key: why" to err. */
int config_set(struct domain_config *c, const char *key, const char *value,
	       char *err, size_t errlen);
/* Fills defaults for every field left unset. */
void config_defaults(struct domain_config *c);
/* The log a domain of this name writes unless the operator says otherwise
 * (allocated). */
char *config_default_log(const char *name);
/* Resolves c->user (the default account if unset) into c->cred: "root" or
 * "0" opt in to root; a name is looked up in the host's passwd (its primary
 * group); UID[:GID] is taken as given (GID defaults to the account's group,
 * else to UID). When pdvm itself runs unprivileged, the domain is that
 * user (own) and naming another is an error. 0, or -1 with why in err. */
int config_resolve_user(struct domain_config *c, char *err, size_t errlen);
void config_free(struct domain_config *c);
/* Parses sizes like 512M, 2G, 1048576. Returns -1 on a bad string. */
int config_parse_size(const char *s, uint64_t *out);

#endif
