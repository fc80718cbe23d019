/* exec_script.h: opening what exec runs and following its "#!" lines (vmm/exec_script.c). */
#ifndef PDVM_EXEC_SCRIPT_H
#define PDVM_EXEC_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>

struct domain;
struct thread;

/* -EACCES unless host fd `fd` (taken over) is a regular file with an
 * execute bit; else fd. */
int exec_file_ok(int fd);
/* Opens an executable inside the root, relative to dirfd (AT_FDCWD: the
 * cwd); nofollow: not through a final symlink (ELOOP). gpath (2 *
 * PATH_MAX bytes) gets the absolute guest path. A host fd or -errno. */
int exec_open(struct domain *d, int dirfd, const char *path, bool nofollow, char *gpath);
/*
 * *fd: the file asked for as `path`, with argument vector argv. While it
 * is a script ("#!interp [arg]"), opens its interpreter in its place and
 * makes the argument vector "interp [arg] script argv[1..]", as Linux,
 * five scripts deep at most (then ELOOP). 0: *fd is the binary, gpath its
 * guest path, and *nargv the new vector (free with exec_argv_free), or
 * NULL when the file was no script. -errno: *fd closed. no_script: a
 * script fails with ENOENT (the interpreter could not open it).
 */
int exec_script_chain(struct domain *d, int *fd, char *gpath, const char *path, char *const argv[],
		      bool no_script, char ***nargv);
void exec_argv_free(char **v);
/* /proc/self/exe's text for the file open on host fd `fd`: its guest path
 * (symlinks resolved) into gpath (2 * PATH_MAX bytes), or the kernel's
 * text for a file in no tree (a memfd); gpath is left as it is else. */
void exec_exe_path(struct domain *d, int fd, char *gpath);
/* A new process's first program (the domain's first, or one started from
 * outside): prog opened inside the root (a bare name searched in PATH from
 * envp), its #! chain followed, loaded into the current process's address
 * space for its first thread t. 0, or -errno with "PROG: why" in err;
 * *path (malloc'd, the caller frees it, also on failure) the guest path
 * used. */
int exec_load_first(struct domain *d, struct thread *t, const char *prog, char *const argv[], char *const envp[],
		    char **path, char *err, size_t errlen);

#endif
