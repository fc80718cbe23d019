/* restore.h: `pdvm restore` — a domain brought back from an image (or an incremental chain of them). */
#ifndef PDVM_RESTORE_H
#define PDVM_RESTORE_H

#include <stdbool.h>

#include "../vmm/cred.h"

struct restore_opts {
	const char *name;       /* NULL: the image's name */
	bool force;             /* restore even if open files changed */
	bool lazy;              /* start before memory is loaded */
	bool verbose;
	/* The operator's policy; the image may only narrow it. */
	const char *root;       /* NULL: "/" */
	char **writable;        /* guest paths under root, NULL-terminated; NULL: none */
	struct dom_cred cred;   /* the domain's host identity (never the image's) */
	bool abstract_host;     /* the host's abstract UNIX names reachable */
	bool filter_all;        /* pdvm's own threads under seccomp too (the spawner runs) */
};

/* Restores the image in dir and runs it in the foreground like `pdvm run`.
 * Returns pdvm's exit status: the program's, 2 for an image pdvm refuses,
 * 125 when pdvm itself fails. */
int domain_restore(const char *dir, const struct restore_opts *o);
/* Validates the image as restore would, without KVM or running anything:
 * 0 when restore would accept it, else as domain_restore. */
int restore_check(const char *dir, const struct restore_opts *o);

#endif
