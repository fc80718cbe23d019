/* files.h: the domain's view of files — confined root, fd table, cwd, umask. */
#ifndef PDVM_FILES_H
#define PDVM_FILES_H

#include "types.h"

struct domain;
struct domain_config;

/* Sets up root, writable paths, cwd and fds 0-2 (the pdvm process's own
 * stdin/stdout/stderr). Returns 0 or -errno with a message in err. */
int files_init(struct domain *d, const struct domain_config *c, char *err, size_t errlen);
void files_destroy(struct domain *d);
/* Drops a process's file table (the last reference of each description
 * closes its host fd). */
struct files;
void files_put(struct domain *d, struct files *f);
/* fork's copy: shares the open file descriptions. NULL on ENOMEM/EMFILE. */
struct files *files_clone(const struct files *s);

/* Opens the program to execute: `path` resolved inside the root (a bare name
 * is searched in PATH from envp), read-only. Returns a host fd or -errno;
 * *resolved gets the guest path used (malloc'd). */
int files_open_exec(struct domain *d, const char *path, char *const envp[], char **resolved);

/* Host fd behind guest fd `fd`, or -EBADF. (For mmap of files.) */
int files_host_fd(struct domain *d, int fd);

/* The guest path guest fd `fd` was opened with ("" if unknown). */
const char *files_path(struct domain *d, int fd);

#endif
