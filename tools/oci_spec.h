/* oci_spec.h: an OCI bundle's config.json as a pdvm domain — what pdvm honours, and an error naming any field it cannot. */
#ifndef PDVM_OCI_SPEC_H
#define PDVM_OCI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct oci_spec {
	char **args;            /* process.args, NULL-terminated */
	char **env;             /* process.env, NULL-terminated (may be empty) */
	char *cwd;              /* process.cwd */
	char *root;             /* root.path, absolute */
	bool readonly;          /* root.readonly */
	bool user_set;          /* process.user.uid other than 0 */
	uint32_t uid, gid;
	uint64_t memory;        /* linux.resources.memory.limit; 0: pdvm's default */
	char *hostname;         /* hostname (NULL: the host's) */
	char **ulimits;         /* process.rlimits as "nofile=SOFT:HARD", NULL-terminated */
	bool pid_ns;            /* a pid namespace: the program is pid 1 (--pid-namespace) */
	bool container_fs;       /* mounts has the engine's /dev (a tmpfs): pdvm's own (--container-fs) */
	bool terminal;          /* process.terminal: stdio is a pty (--console-socket) */
	unsigned rows, cols;    /* process.consoleSize (0: unset) */
	char *annotations;      /* the annotations object as JSON ("{}" if none) */
	char **volumes;         /* bind mounts as pdvm volumes "SRC:DST[:ro]", NULL-terminated */
	char **tmpfs;           /* tmpfs mounts as pdvm's --tmpfs "DST:OPTIONS" (NULL: none) */
	char **masked, **rdonly; /* linux.maskedPaths, linux.readonlyPaths (NULL: none) */
	int64_t pids;           /* linux.resources.pids.limit (0: none) */
	char *netns;            /* the network namespace to join (a path; NULL: the host's) */
	bool new_netns;         /* a network namespace without a path: an empty one of its own */
	char **sysctl;          /* linux.sysctl as "net.x.y=value", set in netns */
	char *seccomp;          /* linux.seccomp as JSON text (NULL: none), checked */
	bool gids_not_held;     /* process.user.additionalGids of uid 0, taken as not held */
	char *hooks;            /* the hooks object as JSON (NULL: none), checked (tools/oci_hooks.c) */
	char *notice;           /* what the engine should hear (NULL: nothing): the capabilities not held */
};

/* Reads BUNDLE/config.json into s. 0, or -1 with "config.json: FIELD: why"
 * in err (a field pdvm cannot honour is an error, never ignored). */
int oci_spec_load(const char *bundle, struct oci_spec *s, char *err, size_t errlen);
/* Reads a process object alone (exec --process FILE: config.json's
 * "process" for a new process of the container) into s's process fields,
 * with the same checks. 0, or -1 with "process.FIELD: why" in err. */
int oci_spec_load_process(const char *path, struct oci_spec *s, char *err, size_t errlen);
/* Writes s as a domain.cfg (tools/config.c's format) for a domain named
 * name. 0, or -1 with why in err. */
int oci_spec_write_cfg(const struct oci_spec *s, const char *name, const char *path, char *err, size_t errlen);
void oci_spec_free(struct oci_spec *s);

#endif
