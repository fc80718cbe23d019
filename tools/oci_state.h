/* oci_state.h: pdvm-oci's containers on disk — each one's state directory under --root (state.json, domain.cfg, the FIFO), its domain's own answers, the runtime's log — shared by its commands. */
#ifndef PDVM_OCI_STATE_H
#define PDVM_OCI_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <limits.h>

#include "vmm/spec.h"

#define OCI_DEFAULT_ROOT "/run/pdvm-oci"

/* The global options: --root, --log, --log-format json. */
extern const char *oci_root;
extern const char *oci_log_path;
extern bool oci_log_json;

struct json_object;
/* A container as its state directory and its domain say it is. */
struct cstate {
	char id[SPEC_NAME_MAX + 1];
	pid_t pid;
	unsigned long long start;
	char bundle[PATH_MAX];
	char created[64];
	struct json_object *annotations;
	const char *status;             /* created, running, paused, stopped */
};

/* A line in --log at level (runc's text or JSON form). */
void oci_log_line(const char *level, const char *msg);
/* An error: on stderr and in --log. Returns EXIT_FAILED (1). */
__attribute__((format(printf, 1, 2)))
int oci_err(const char *fmt, ...);
/* --root and its parents. 0, or -1 with errno. */
int oci_make_root(void);
/* ROOT/ID[/FILE] into buf. */
void oci_cdir(char *buf, size_t n, const char *id, const char *file);
/* pid's start time (/proc/PID/stat field 22); 0 if gone or a zombie. */
unsigned long long oci_proc_start(pid_t pid);
/* The domain's "info" answer (put it), or NULL; and its state from it:
 * "paused", "running" or NULL. */
struct json_object *oci_domain_info(const char *id);
const char *oci_domain_state(const char *id);
/* Container id's state into c; 0, or an error said. */
int oci_load(const char *id, struct cstate *c);
void oci_cstate_free(struct cstate *c);
/* path written whole or not at all (a rename). 0 or -1. */
int oci_write_atomic(const char *path, const char *str);
/* The container's directory and what create put in it. */
void oci_remove_dir(const char *id);
/* state.json for a container whose process is pid, then the pid file; on
 * failure the process is killed and the container removed (said). */
int oci_publish(const char *id, pid_t pid, const char *bundle, const char *annotations, const char *pid_file);
/* Waits (a while) for pid of that start time to be gone. */
bool oci_wait_gone(pid_t pid, unsigned long long start);

/* The checkpoint and restore commands (tools/oci_cr.c). */
int oci_checkpoint(int argc, char **argv);
int oci_restore(int argc, char **argv);
/* The exec command (tools/oci_exec.c). */
int oci_exec(int argc, char **argv);

#endif
