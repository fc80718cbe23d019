/* oci_hooks.h: config.json's hooks — checked when the bundle is read, run by pdvm-oci at their points of a container's life with its state on stdin. */
#ifndef PDVM_OCI_HOOKS_H
#define PDVM_OCI_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct json_object;

/* 0 if hooks (config.json's "hooks") is well formed: known stages, each an
 * array of {path (absolute), args, env (KEY=VALUE), timeout (> 0)}; else
 * -1 with "hooks.STAGE[i].FIELD: why" in err. */
int oci_hooks_check(struct json_object *hooks, char *err, size_t errlen);

/*
 * Runs the hooks of `stage` (prestart, createRuntime, createContainer,
 * startContainer, poststart, poststop) from hooks_json (the "hooks" object
 * as text; NULL: none) in order, each with the container's state (status
 * `status`, process pid) on its stdin, as the runtime spec says. netns_fd
 * >= 0: they run in that network namespace (-1: in ours).
 * 0, or -1 at the first that fails (exit status, signal, or its timeout),
 * with "hooks.STAGE[i] (PATH): why" in err.
 */
int oci_hooks_run(const char *hooks_json, const char *stage, const char *id, const char *status, pid_t pid,
		  const char *bundle, const char *annotations, int netns_fd, char *err, size_t errlen);

#endif
