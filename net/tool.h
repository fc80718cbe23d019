/* tool.h: running the kernel's own network tools (ip, nft) from pdvm, with a script on stdin and their complaint captured. */
#ifndef PDVM_TOOL_H
#define PDVM_TOOL_H

#include <stddef.h>

/* Runs `name args...` (found under /usr/sbin, /sbin, /usr/bin, /bin) (args NULL-terminated) with `input` on its stdin;
 * its output goes to out (may be NULL; NUL-terminated, cut at outlen). 0 when
 * it exits 0; else -errno with "name: first line of its complaint" in err. */
int tool_run(const char *name, const char *const args[], const char *input, char *out, size_t outlen,
	     char *err, size_t errlen);

/* `nft -f -` on script (net/netlock.c, net/netns.c). */
int tool_nft(const char *script, char *err, size_t errlen);

#endif
