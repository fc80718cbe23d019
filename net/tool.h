/* tool.h: running the kernel's own network tools (ip, nft) from pdvm, with a script on stdin and their complaint captured. */
#ifndef PDVM_TOOL_H
#define PDVM_TOOL_H

#include <stdbool.h>
#include <stddef.h>

/* Runs `name args...` (found under /usr/sbin, /sbin, /usr/bin, /bin) (args NULL-terminated) with `input` on its stdin;
 * its output goes to out (may be NULL; NUL-terminated, cut at outlen). 0 when
 * it exits 0; else -errno with "name: first line of its complaint" in err. */
int tool_run(const char *name, const char *const args[], const char *input, char *out, size_t outlen,
	     char *err, size_t errlen);

/* The same in the host's network namespace, whatever the caller's (only
 * with the spawner running; otherwise in the caller's). */
int tool_run_host(const char *name, const char *const args[], const char *input, char *err, size_t errlen);

/* Forks the spawner that runs the tools from now on: call it before any
 * thread, before entering a domain's namespace and before any seccomp
 * filter (a filter outlives execve; the spawner stays unfiltered, root, in
 * the host's namespace). 0 or -errno with why. */
int tool_spawner_start(char *err, size_t errlen);
bool tool_spawner_running(void);

/* `nft -f -` on script (net/netlock.c, net/netns.c). */
int tool_nft(const char *script, char *err, size_t errlen);

#endif
