/* exec_client.h: starting a process in a running domain from outside and waiting for it (pdvm exec, pdvm-oci exec). */
#ifndef PDVM_EXEC_CLIENT_H
#define PDVM_EXEC_CLIENT_H

#include <stddef.h>

struct linebuf;

/* An exec session with a domain (tools/ctl_exec.c has the protocol). */
struct exec_call {
	int fd;                 /* the control connection; -1 when closed */
	int pid;                /* the process in the domain */
	struct linebuf *lb;
};

/*
 * Asks domain `name` to run argv with fds[0..2] as its stdin, stdout and
 * stderr. env: the whole environment, or NULL for the domain's first
 * process's plus env_add (may be NULL); cwd: NULL for the first process's.
 * 0 with x->pid, or -errno with why in err: -ENOENT "no such domain", or
 * the domain's own errno for a program it could not start (ENOENT, EACCES
 * ...), with *start_failed set.
 */
int exec_call_start(const char *name, char *const argv[], char *const env[], char *const env_add[],
		    const char *cwd, const int fds[3], struct exec_call *x, int *start_failed, char *err,
		    size_t errlen);
/* Waits for the process's end, passing on to it the signals this process
 * gets (HUP, INT, QUIT, TERM, USR1, USR2, WINCH). Its wait status, or
 * -errno when the domain went away without saying (a crash). */
int exec_call_wait(struct exec_call *x);
void exec_call_close(struct exec_call *x);

/* A failed exec_call_start's exit status, as a shell's: 127 for a program
 * not found, 126 for one that cannot run, 125 for anything else. */
int exec_start_status(int r, int start_failed);
/* Ends this process as the wait status says: exit with its code, or die
 * of its signal (no core dump). Never returns. */
_Noreturn void exec_exit_like(int wstatus);

/* pdvm exec */
int cmd_exec(int argc, char **argv);

#endif
