/* volumes.h: host files and directories bound into a domain's root, as docker -v. */
#ifndef PDVM_VOLUMES_H
#define PDVM_VOLUMES_H

#include <stdbool.h>
#include <stddef.h>

/* An absolute path other than /, without //, . or .. components. */
bool volume_plain_path(const char *path);

/* One volume, "SRC:DST[:ro|:rw]": SRC an absolute host path, DST an
 * absolute path in the domain other than / (no . or .. components). 0, or
 * -1 with why in err; the outputs (allocated) only on success. */
int volume_parse(const char *spec, char **src, char **dst, bool *ro, char *why, size_t n);

/* Binds every one of cfg's volumes, then mounts its tmpfs (added to the
 * domain's tmpfs, whose files images carry), in pdvm's own mount namespace
 * (tools/mountns.c) on its DST inside the root, creating a missing DST
 * (and its parents) in the root as docker does; read-only ones are
 * remounted so, writable ones are added to the domain's writable paths.
 * pdvm must still have a single thread. cmd names the command in
 * messages. 0 or -1 (said on stderr). */
struct domain_config;
int volumes_setup(const char *cmd, struct domain_config *cfg);

/* One tmpfs, "DST[:OPTIONS]" as docker's --tmpfs: OPTIONS a comma list of
 * size=N[k|m|g], mode=OCTAL, nr_inodes=N, ro, rw, nosuid, nodev, noexec (and
 * the harmless suid, dev, exec, relatime, strictatime, noatime). On success
 * *dst (allocated), the mount flags, the data string for mount(2) and ro. */
int tmpfs_parse(const char *spec, char **dst, unsigned long *flags, char *data, size_t dlen, bool *ro, char *why,
		size_t n);

/* What volumes_setup adds to the writable paths, without mounting
 * anything (a restore's --check). 0 or -1 (said on stderr). */
int volumes_writable(const char *cmd, struct domain_config *cfg);

/* The O_PATH descriptor of DST inside root, resolved as the domain would
 * (symbolic links stay inside root), made first if missing as make says:
 * a directory, an empty file, or nothing (-ENOENT). -errno with why in err. */
enum { VOLUME_LOOKUP, VOLUME_MAKE_DIR, VOLUME_MAKE_FILE };
int volume_target(const char *root, const char *dst, int make, char *err, size_t errlen);

#endif
