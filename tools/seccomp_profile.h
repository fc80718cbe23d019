/* seccomp_profile.h: a seccomp profile in the OCI runtime-spec's form (docker's and podman's too) as the VMM's guest filter. */
#ifndef PDVM_SECCOMP_PROFILE_H
#define PDVM_SECCOMP_PROFILE_H

#include <stddef.h>

struct json_object;
struct gfilter;

/* Reads a linux.seccomp object: defaultAction, defaultErrnoRet,
 * architectures, flags, syscalls[{names, action, errnoRet, args}]. Names
 * the x86-64 libseccomp does not know are skipped, as runc skips them.
 * prefix names the object in messages ("linux.seccomp"). 0 and *out
 * (allocated), or -1 with "PREFIX.FIELD: why" in err. */
int seccomp_profile_parse(struct json_object *o, const char *prefix, struct gfilter **out, char *err, size_t n);
/* The same from a JSON file (pdvm run --seccomp-profile). */
int seccomp_profile_load(const char *path, struct gfilter **out, char *err, size_t n);

#endif
