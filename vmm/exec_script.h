/* exec_script.h: opening what exec runs and following its "#!" lines (vmm/exec_script.c). */
#ifndef PDVM_EXEC_SCRIPT_H
#define PDVM_EXEC_SCRIPT_H

#include <stdbool.h>

struct domain;

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

#endif
