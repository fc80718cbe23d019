/* restore.h: `pdvm restore` — a domain brought back from an image (or an incremental chain of them). */
#ifndef PDVM_RESTORE_H
#define PDVM_RESTORE_H

#include <stdbool.h>

#include "vmm/domain.h"
#include "net/netns.h"

struct restore_opts {
	const char *name;       /* NULL: the image's name */
	bool force;             /* restore even if open files changed */
	bool any_cpu;           /* restore even if the guest's XSAVE features differ */
	bool lazy;              /* start before memory is loaded */
	bool verbose;
	bool deterministic;     /* for record/replay: the spec's deterministic (vmm/rr.h) */
	uint8_t rr_tsc;         /* and its rr_tsc (RR_TSC_*) */
	bool exit_path;         /* every call on the exit path (a replay) */
	int vcpu_cpu;           /* the spec's vcpu_cpu (record/replay) */
	const char *log_dir;    /* the domain log is LOG_DIR/NAME.log; NULL: none */
	/* The operator's policy; the image may only narrow it. */
	const char *root;       /* NULL: "/" */
	bool new_root;          /* root is the domain's / now, wherever the image's was */
	char **writable;        /* guest paths under root, NULL-terminated; NULL: none */
	struct dom_cred cred;   /* the domain's host identity (never the image's) */
	bool abstract_host;     /* the host's abstract UNIX names reachable */
	bool filter_all;        /* pdvm's own threads under seccomp too (the spawner runs) */
	bool shm_private;       /* ROOT/dev/shm is a private tmpfs, to fill from the image */
	char **tmpfs;           /* guest paths of the tmpfs this restore mounted (--tmpfs) */
	bool premem;            /* guest memory is premem_fd's (a migration's pre-copy),
				 * and the image's memory only what changed since */
	int premem_fd;
	bool hold_tcp;          /* TCP connections stay in repair mode (silent, no
				 * reset if we die) until restore_go */
	struct postcopy *postcopy; /* a migration's pages to come (snapshot/postcopy.h) */
	const struct net_spec *net_entered; /* this process is in the domain's network
					     * namespace already (a migration's
					     * target): the image's must be this one */
};

struct tcp_held;
struct postcopy;

/* A domain brought back: what it is made of lives as long as it runs. */
struct restore {
	struct domain *d;       /* NULL if it never got as far as a domain */
	struct domain_spec spec;
	struct net_spec net;    /* mode NULL: the host's network */
	struct tcp_held *held;  /* connections held in repair mode (hold_tcp) */
	int nheld;
};

/* Rebuilds the image in dir (its network namespace entered) as a domain
 * whose threads have not started. Returns 0, 2 for an image pdvm refuses
 * or 125 when pdvm itself fails, having said why; given rs->d, the caller
 * passes the status on to dom_start_wait (which frees the domain, and
 * runs it on 0) with restore_release among its release hooks, then calls
 * restore_done. */
int restore_prepare(const char *dir, const struct restore_opts *o, struct restore *rs);
/* A domain hook: stops the lazy loader and post-copy before the domain is freed. */
void restore_release(struct domain *d, void *rs);
void restore_done(struct restore *rs);
/* Lets the held connections go live (the domain is about to run): 0, or
 * -EIO if some could not (logged; those are broken). */
int restore_go(struct restore *rs);
/* Validates the image as restore would, without KVM or running anything:
 * 0 when restore would accept it, else as restore_prepare. */
int restore_check(const char *dir, const struct restore_opts *o);

#endif
