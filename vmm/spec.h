/* spec.h: what a domain is to be — program, file system view, memory, identity — as the machine needs it; the CLI and restore fill it. */
#ifndef PDVM_SPEC_H
#define PDVM_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cred.h"

#define SPEC_NLIMITS 16       /* RLIMIT_CPU .. RLIMIT_RTTIME */

struct domain_spec {
	char *name;          /* the domain's name: logs and messages */
	char *program;       /* path inside root (or bare name searched in PATH) */
	char **argv;         /* NULL-terminated, argv[0] included */
	char **envp;         /* NULL-terminated */
	char *cwd;           /* inside root */
	char *root;          /* host directory the guest sees as / */
	char **writable;     /* NULL-terminated paths inside root */
	uint64_t memory;     /* bytes of guest memory */
	char *log;           /* the domain log's path; NULL: none */
	char *hostname;      /* what uname says the node is (NULL: the host's name) */
	uint32_t pids_max;   /* most live threads at once, as a pids cgroup (0: MAX_THREADS only) */
	struct gfilter *gfilter; /* a seccomp profile over the guest's calls (gfilter.h; NULL: none) */
	/* Resource limits the first process starts with (bit i of
	 * rlimit_set: RLIMIT number i given); the rest are pdvm's defaults. */
	uint32_t rlimit_set;
	uint64_t rlimit_cur[SPEC_NLIMITS], rlimit_max[SPEC_NLIMITS];
	bool verbose;        /* the log goes to stderr too */
	bool pid_ns;         /* processes numbered from 1, the first its pid namespace's init */
	bool map_root;       /* the guest sees its identity as uid/gid 0 (cred.h's map_root) */
	bool deterministic;  /* record/replay: time only through system calls, no exitless tier */
	uint8_t rr_tsc;      /* deterministic: RR_TSC_* — whether the guest's rdtsc/rdtscp trap */
	uint8_t at_random[16]; /* deterministic: every exec's AT_RANDOM bytes (the trace keeps them) */
	int first_pid;       /* the first process's pid (0: pdvm's host pid; a replay gives the recording's) */
	int vcpu_cpu;        /* > 0: vCPU i's thread runs on the i-th CPU pdvm may use from host CPU
			      * vcpu_cpu - 1 on (record/replay: a PVM guest's cpuid and rdtscp
			      * name the CPU they run on) */
	char *trap_backend;  /* NULL: any; else the backend the probe must find (trap.h) */
	int syscall_path;    /* enum syscall_path (exl.h): auto (0), exitless, exit */
	bool abstract_host;  /* the host's abstract UNIX names are reachable (sock.c) */
	bool filter_all;     /* pdvm's own threads under seccomp too, after set-up (vfilter.h) */
	bool shm_private;    /* ROOT/dev/shm is a tmpfs of pdvm's own: images carry its files */
	char **tmpfs;        /* guest paths of the other tmpfs of pdvm's own: images carry their files */
	struct dom_cred cred; /* the host identity of guest work (cred.h) */
};

/* Names reach file names (the log, control sockets, snapshots), nft tables
 * and `ip` scripts, so they follow docker's rule: [A-Za-z0-9][A-Za-z0-9_.-]*,
 * 1 to SPEC_NAME_MAX characters. 0, or -1 with why. */
#define SPEC_NAME_MAX 64
int spec_check_name(const char *s, char *why, size_t n);
/* A host name as uname gives it: 1 to SPEC_HOSTNAME_MAX letters, digits,
 * '-', '.' or '_'. 0, or -1 with why. */
#define SPEC_HOSTNAME_MAX 64
int spec_check_hostname(const char *s, char *why, size_t n);
/* "nofile=1024:4096", "nofile=1024" (soft = hard) or "stack=unlimited", as
 * docker's --ulimit: the RLIMIT number and the soft and hard values
 * (unlimited: ~0). 0, or -1 with why. */
int spec_parse_ulimit(const char *s, int *res, uint64_t *cur, uint64_t *max, char *why, size_t n);
bool spec_name_char_ok(char ch, bool first);
/* Frees a NULL-terminated array of malloc'ed strings, and the array (NULL: nothing). */
void spec_strv_free(char **v);
/* Appends s (malloc'ed; the array takes it) to the NULL-terminated array *v
 * (NULL: empty). 0, or -1 on no memory with *v as it was and s not taken. */
int spec_strv_push(char ***v, char *s);
/* Frees every string of s (allocated with malloc) and zeroes it. */
void spec_free(struct domain_spec *s);

/* spec->rr_tsc. A recording traps rdtsc/rdtscp where the backend can (CR4.TSD:
 * the ring-0 backend; a PVM host runs them natively whatever CR4 says), and
 * its replay must then trap them too. */
enum { RR_TSC_NATIVE, RR_TSC_IF_CAN, RR_TSC_MUST };

#endif
