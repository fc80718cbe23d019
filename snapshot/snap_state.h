/* snap_state.h: kernel-side state of a domain as versioned image sections (domain, mm, files, vcpus). */
#ifndef PDVM_SNAP_STATE_H
#define PDVM_SNAP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"
#include "vmm/files.h"

struct domain;
struct domain_spec;

/* A snapshot's frozen TCP connections (tcp_repair.c), from snap_sock_freeze
 * to snap_sock_thaw: written as connections, behind `lock`. */
struct snap_freeze {
	struct ofd **frozen;
	int n;
	char lock[64];
};

/* What the readers of one image share while it loads (restore.c owns it;
 * snap_restore_release ends it): the descriptions `files` made, for the fd
 * tables of `procs`; epoll registrations waiting for every description;
 * UNIX pairs waiting for their other end and connections waiting for every
 * socket; the network locks to drop once the connections are back. */
struct snap_ep_item {
	struct ofd *ep;
	uint32_t target, events;
	uint64_t data;
};
#define SNAP_MAX_UPAIRS 256
#define SNAP_MAX_LOCKS  64
struct tcp_held;
struct snap_restore {
	struct ofd **ofds;
	uint32_t nofds;
	struct snap_ep_item *ep;
	size_t nep, capep;
	struct { uint64_t id; int fd[2]; } upairs[SNAP_MAX_UPAIRS];
	int nupairs;
	struct { struct ofd *o; bool pending; } uconns[SNAP_MAX_UPAIRS];
	int nuconns;
	char *locks[SNAP_MAX_LOCKS];
	int nlocks;
	bool fresh_net;         /* the domain's network namespace is new: the locks
				 * died with the old one (no nft run to look) */
	bool migration;         /* a migration's target: the open files were checked by
				 * content before the source paused (mfiles.c); device,
				 * inode and time differ between hosts, the size must not */
	bool hold_tcp;          /* connections stay in repair mode (held) until */
	struct tcp_held *held;  /* the caller lets them go live (a migration's go) */
	int nheld;
};
/* Drops what is left: the descriptions' references (else pipe ends stay
 * open in pdvm itself), pending registrations and pairs. */
void snap_restore_release(struct snap_restore *rs);
struct net_spec;
struct ofd;


/* Writers: append one section's content. vcpus needs the vCPUs stopped
 * (the domain paused). 0 or -errno with err. */
int snap_put_domain(struct domain *d, struct sbuf *b);
int snap_put_mm(struct domain *d, struct sbuf *b);
int snap_put_files(struct domain *d, const struct snap_freeze *fz, struct sbuf *b, char *err, size_t errlen);
int snap_put_vcpus(struct domain *d, struct sbuf *b, char *err, size_t errlen);

/* Readers. The config comes first (a fresh domain is built from it); the
 * others fill that domain in. Each validates everything and fails with
 * r->bad set (an image error) or returns -errno with err (a host error). */
int snap_get_spec(struct sread *r, struct domain_spec *c);
int snap_get_domain(struct sread *r, struct domain *d, uint32_t version);
int snap_get_mm(struct sread *r, struct domain *d, uint32_t version);
/* Checks every page-table entry reachable from the root lies inside guest
 * memory: the VMM walks these tables itself. */
int snap_check_pgtables(struct domain *d, const char **why);
/* ORs into map (a frame bitmap) the frames of every process's page tables
 * and of the kernel area: what the VMM itself reads first at a restore.
 * 0, or -1 if the tables are malformed. */
int snap_vmm_frames(struct domain *d, uint64_t *map);
int snap_get_files(struct sread *r, struct domain *d, struct snap_restore *rs, bool force, char *err,
		   size_t errlen);
/* dry: validate only (no vCPUs are touched). */
int snap_get_vcpus(struct sread *r, struct domain *d, uint32_t version, bool dry, char *err, size_t errlen);

/* Section `signals` (optional: images without it have no pending
 * signals or timers). Read after `vcpus`: threads are matched by tid. */
int snap_put_signals(struct domain *d, struct sbuf *b, char *err, size_t errlen);
/* A process's part of it: its job-control state (version 3 on), process-
 * directed pending signals, timers; `procs` holds it for the others. */
struct process;
void snap_put_sigstate(struct sbuf *b, struct process *p);
void snap_get_sigstate(struct sread *r, struct process *p, uint32_t version);
int snap_get_signals(struct sread *r, struct domain *d, uint32_t version);

/* Section `vdso` (optional): the vvar page's address; restore rewrites its
 * time data for the new host (vmm/vdso.c). Read after `mm`. */
int snap_put_vdso(struct domain *d, struct sbuf *b, char *err, size_t errlen);
int snap_get_vdso(struct sread *r, struct domain *d);

/* Section `shmaps` (optional): the page cache of MAP_SHARED file mappings
 * (version 3; 1 and 2: ranges of private copies); restore reopens each
 * file inside the root (read-write when it is written back), or takes the
 * memfd `files` made, and checks the cached frames against every address
 * space's mappings (after `files` and `procs`). */
/* Section `shm` (snap_shm.c): the files of a private /dev/shm, made again
 * with the domain's identity on restore (before `files` reopens them). */
int snap_put_shm(struct domain *d, struct sbuf *b, char *err, size_t errlen);
int snap_get_shm(struct sread *r, struct domain *d, bool dry, char *err, size_t errlen);
/* Section `tmpfs` (snap_shm.c): the files of the spec's tmpfs mounts. */
bool snap_has_tmpfs(const struct domain *d);
int snap_put_tmpfs(struct domain *d, struct sbuf *b, char *err, size_t errlen);
int snap_get_tmpfs(struct sread *r, struct domain *d, bool dry, char *err, size_t errlen);
int snap_put_shmaps(struct domain *d, struct sbuf *b, char *err, size_t errlen);
int snap_get_shmaps(struct sread *r, struct domain *d, const struct snap_restore *rs, uint32_t version, bool dry,
		    char *err, size_t errlen);

/* memfds inside `files` (snapshot/snap_memfd.c): description k of v, its
 * contents with the first description of the file, or a reference to that
 * one; on restore v holds the descriptions made so far. */
int snap_put_memfd(struct ofd **v, int k, struct sbuf *b, char *err, size_t errlen);
int snap_get_memfd(struct sread *r, struct domain *d, struct ofd **v, uint32_t k, int flags, struct ofd **out,
		   char *err, size_t errlen);
/* Which memfd description of v a shared mapping's host fd writes back to:
 * its index, SNAP_MEMFD_NONE (no memfd: a file of the root, by path) or
 * SNAP_MEMFD_ORPHAN (a memfd no fd names any more: nothing can read what
 * the mapping writes back, so a restore drops the write-back). */
#define SNAP_MEMFD_NONE   UINT32_MAX
#define SNAP_MEMFD_ORPHAN (UINT32_MAX - 1)
uint32_t snap_memfd_ref(struct ofd **v, int n, int fd);

/* Section `locks` (required when present; only in images of domains that
 * hold POSIX record locks): each lock's holder, an fd of its file, type and
 * range; restore takes them again (after `procs`: every fd table exists).
 * force: a lock another host process holds now stays the domain's alone. */
/* Section `gfilter` (snap_gfilter.c): the seccomp profile, if any. */
bool snap_has_gfilter(struct domain *d);
int snap_put_gfilter(struct domain *d, struct sbuf *b);
int snap_get_gfilter(struct sread *r, struct domain *d);
bool snap_has_locks(struct domain *d);
int snap_put_locks(struct domain *d, struct sbuf *b, char *err, size_t errlen);
int snap_get_locks(struct sread *r, struct domain *d, bool dry, bool force, char *err, size_t errlen);

/* One address space's map inside the `mm` and `procs` sections: page-table
 * root and bookkeeping, VMAs, heap and stack bounds (frames are global);
 * with_files (mm 2, procs 4): the files VMAs map, by path, device, inode
 * and offset; older images read as anonymous memory. */
struct mm;
void snap_put_mm_map(struct sbuf *b, struct mm *mm);
int snap_get_mm_map(struct sread *r, struct domain *d, struct mm *mm, bool with_files);
int snap_check_mm_tables(struct domain *d, struct mm *mm, const char **why);

/* Section `files` lists the open file descriptions of every process (each
 * fd table names them by index), so pipes between processes stay shared.
 * The reader keeps them in its snap_restore for `procs`. */
/* Sockets (snapshot/snap_sock.c): a socket description's record after
 * its kind, flags and path; freezing the TCP connections (repair mode and
 * the network lock) around the writing of an image, thawing them after
 * (keep: the domain stops, so they stay frozen for the restore); the
 * locks released once a restore has its connections back. */
int snap_put_sock(struct domain *d, const struct snap_freeze *fz, struct ofd **v, int n, struct ofd *o,
		  struct sbuf *b, char *err,
		  size_t errlen);
int snap_get_sock(struct sread *r, struct domain *d, struct snap_restore *rs, int flags, struct ofd **out,
		  const char *desc, char *err,
		  size_t errlen);
int snap_sock_freeze(struct domain *d, struct snap_freeze *fz, const char *id, char *err, size_t errlen);
void snap_sock_thaw(struct snap_freeze *fz, bool keep);
void snap_sock_restore_done(struct domain *d, struct snap_restore *rs);

/* epoll sets, eventfds, timerfds (snapshot/snap_epoll.c); epoll
 * registrations wait for every description, then snap_epoll_finish makes
 * them (ok) or drops them. */
int snap_put_anon(struct domain *d, struct ofd **v, int n, int k, struct sbuf *b, char *err, size_t errlen);
int snap_get_anon(struct sread *r, struct snap_restore *rs, enum ofd_kind kind, int flags, struct ofd **out,
		  const char *desc);
int snap_epoll_finish(struct snap_restore *rs, struct ofd **v, uint32_t n, bool ok, char *err, size_t errlen);
/* pidfds (files 2): the pid and whether its process exited, was reaped. */
int snap_put_pidfd(struct ofd *o, struct sbuf *b);
int snap_get_pidfd(struct sread *r, struct domain *d, int flags, struct ofd **out, char *err, size_t errlen);
/* Drops the registrations a load left (snap_epoll_finish does). */
void snap_epoll_release(struct snap_restore *rs);
/* A running domain's socket whose queue a snapshot moved into its restart
 * queue: the epoll sets that hold it report it ready again. */
void snap_epoll_rewatch(struct domain *d, struct ofd *target);

/* The `net` section (snapshot/snap_net.c): the netns placement. */
int snap_put_net(const struct net_spec *n, struct sbuf *b);
int snap_get_net(struct sread *r, struct net_spec *n);

int snap_collect_ofds(struct domain *d, struct ofd ***out);
/* Writes / reads one fd table (cwd, umask, exe, fds by description index). */
struct files;
int snap_put_fdtable(struct domain *d, struct sbuf *b, struct ofd **v, int n, char *err, size_t errlen);
int snap_get_fdtable(struct sread *r, struct domain *d, const struct snap_restore *rs, char *err, size_t errlen);

/* Section `procs` (optional; absent = one process): the processes after
 * the first — ids, tree, handlers, pending signals, timers, address space,
 * fd table, zombies — and which threads are theirs. Read after `vcpus`. */
int snap_put_procs(struct domain *d, struct sbuf *b, char *err, size_t errlen);
int snap_get_procs(struct sread *r, struct domain *d, const struct snap_restore *rs, uint32_t version, bool dry,
		   char *err, size_t errlen);
/* What every process's record holds (the first one's in `domain`):
 * handlers and limits, counted since version 2 of those sections. */
void snap_put_proc_core(struct sbuf *b, const struct process *p);
void snap_get_proc_core(struct sread *r, struct process *p, uint32_t version);

/* One vCPU record from given state (the unit tests write images without
 * KVM through this). */
struct thread;
struct kvm_xsave;
struct kvm_xcrs;
struct kvm_sregs;
/* A thread's working directory and umask (vcpus 3): its process's, its
 * own, or the same as an earlier record's. */
enum { SNAP_FS_PROCESS, SNAP_FS_OWN, SNAP_FS_SHARED };
struct snap_thread_fs {
	uint32_t kind;
	uint32_t share;         /* SHARED: the earlier record whose fs it uses */
	uint32_t umask;         /* OWN */
	const char *cwd;        /* OWN: guest path */
};
/* fs NULL: the process's. */
void snap_put_thread(struct sbuf *b, const struct thread *t, const struct kvm_xsave *xs,
		     const struct kvm_xcrs *xcrs, const struct kvm_sregs *sregs, uint64_t tsc,
		     const struct snap_thread_fs *fs);

#endif
