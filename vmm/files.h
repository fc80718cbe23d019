/* files.h: the file layer — open file descriptions, the per-process fd table, the confined root and path resolution — for the syscalls, the other families that install fds (sockets, epoll) and the snapshot. */
#ifndef PDVM_FILES_H
#define PDVM_FILES_H

#include <limits.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "types.h"

struct domain;
struct domain_spec;
struct stat;
struct thread;

/* The mode bits a guest may give a file: no set-user-ID or set-group-ID.
 * The host call makes the file as pdvm's own user, so those bits would
 * plant a setuid binary of that user (root) in a writable tree. */
#define GUEST_MODE_BITS 01777

/* What an open file description wraps; plain data for the snapshot work. */
enum ofd_kind {
	OFD_FILE,       /* regular file, directory or device inside the root */
	OFD_STDIO,      /* the pdvm process's own stdin/stdout/stderr */
	OFD_PIPE,       /* one end of a host pipe made by pipe()/pipe2() */
	OFD_SOCKET,     /* installed by the socket family */
	OFD_OTHER,      /* anything else installed through files_install */
	OFD_EPOLL,      /* a host epoll instance (priv: struct epset) */
	OFD_EVENTFD,    /* a host eventfd (aux: EFD_SEMAPHORE) */
	OFD_TIMERFD,    /* a host timerfd (aux: its clock) */
	OFD_MEMFD,      /* a host memfd (memfd_create; vmm/memfd.c) */
	OFD_PIDFD,      /* a guest process's fd (priv: vmm/pidfd.c) */
	OFD_PROCMEM,    /* /proc/PID/mem (aux: the pid; vmm/procmem.c) */
};

/* An open file description: shared by dup'ed fds, refcounted so a thread
 * blocked in a host call keeps it alive while another thread closes the fd. */
struct ep_reg;
struct vmfile;

struct ofd {
	atomic_int refs;
	int hostfd;             /* owned; closed with the last reference */
	int flags;              /* guest open flags (access mode, status flags) */
	enum ofd_kind kind;
	mode_t type;            /* S_IFMT of the host file */
	bool may_block;         /* pipes, ttys, sockets, char devices */
	bool host_nb;           /* the host fd stays O_NONBLOCK whatever the
	                         * guest's flag (in `flags`): the domain's own
	                         * pipes, read and written in place (gio.c) */
	char *path;             /* guest path at open time, or a description */
	int stdio;              /* OFD_STDIO: which of pdvm's fds 0-2 it is */
	int aux;                /* kind-specific: eventfd flags, timerfd clock */
	int dir_pos;            /* /proc's root: 0 while listing the host's
	                         * entries, then 1 + the domain pids listed
	                         * (vmm/procdir.c) */
	void *priv;             /* family-private state (sockets) */
	struct ep_reg *ep_regs; /* epoll registrations of it (vmm/epoll.h) */
	struct vmfile *vmfile;  /* what its mappings are named by in /proc/PID/maps
	                         * (vmm/vmfile.h), made at its first mmap */
	void (*release)(struct ofd *o); /* frees priv; called before close */
};

struct fdent {
	struct ofd *ofd;        /* NULL: free slot */
	bool cloexec;
};

/* A writable entry: canonical host path, directory tree or single file. */
struct wentry {
	char *host;
	size_t len;             /* 0 when the entry is the host's "/" */
	bool dir;
	int fd;                 /* O_PATH of the entry: creations are confined
	                         * beneath it (RESOLVE_BENEATH) */
};

struct files {
	int rootfd;             /* O_PATH of the root directory */
	char *root_host;        /* canonical host path of the root */
	size_t root_len;        /* 0 when the root is "/" */
	struct wentry *wr;
	int nwr;
	int cwdfd;              /* O_PATH of the current directory of the
	                         * threads without an fs of their own */
	mode_t umask;           /* theirs likewise */
	struct fdent *fds;
	int nfds;               /* allocated slots */
	char *exe;              /* guest path of the program (/proc/self/exe) */
};

/* A thread's own working directory and umask (Linux's fs_struct once
 * unshared; vmm/fs.c). A thread without one (t->fs NULL) uses its
 * process's, in struct files. */
struct fs {
	int users;              /* threads sharing it (domain lock) */
	int cwdfd;              /* O_PATH of the current directory */
	mode_t umask;
};

/* The working directory and umask the calling thread uses: its own fs, or
 * its process's (proc_cur's, on a thread of the VMM's own). */
int *fs_cwdfd(struct domain *d);
mode_t *fs_umask(struct domain *d);
/* An fs holding cwdfd (taken over). NULL on ENOMEM (cwdfd closed). */
struct fs *fs_new(int cwdfd, mode_t umask);
void fs_put(struct fs *fs);
/* clone: thread c shares t's fs (CLONE_FS) or gets a copy of what t uses. */
int fs_clone(struct thread *t, struct thread *c, bool share);
/* unshare(CLONE_FS): t gets a copy of its fs unless it is t's alone. */
int fs_unshare(struct thread *t);
/* execve (t is its process's only thread): t's own fs becomes the
 * process's. */
void fs_to_process(struct thread *t);

#define FD_LIMIT_DEFAULT 1024
#define FD_LIMIT_MAX     (1 << 20)
#define RW_MAX_CHUNK     (1UL << 20)   /* bounce-buffer bound per host call */
#define MAX_RW_COUNT     (INT_MAX & PAGE_MASK)

/* ---- open file descriptions and the fd table (vmm/files.c) ---- */

/* Wraps host fd `hostfd` (taken over) in a new description. NULL on ENOMEM
 * (hostfd is then closed). */
struct ofd *ofd_new(int hostfd, int flags, enum ofd_kind kind, const char *path);
struct ofd *ofd_get(struct ofd *o);
void ofd_put(struct ofd *o);

/* The current fd limit (RLIMIT_NOFILE of the domain, else 1024). */
int fd_limit(struct domain *d);
/* Installs `o` (the reference is taken over) at the lowest free fd >= min.
 * Returns the fd, or -EMFILE (then the reference is dropped). */
int fd_install(struct domain *d, struct ofd *o, int min, bool cloexec);
/* Lowest free fd >= min, or -EMFILE (checked before an open has effects). */
int fd_find_free(struct domain *d, int min);
/* Installs at exactly `fd`, closing what was there. */
int fd_install_at(struct domain *d, struct ofd *o, int fd, bool cloexec);
/* Description behind `fd` with a new reference, or NULL. */
struct ofd *fd_get(struct domain *d, int fd);
/* Description behind `fd` without a reference (valid while the domain lock
 * is held and the fd is not closed), or NULL. */
struct ofd *fd_peek(struct domain *d, int fd);
int fd_close(struct domain *d, int fd);
int fd_get_cloexec(struct domain *d, int fd);
int fd_set_cloexec(struct domain *d, int fd, bool on);
/* execve: closes every close-on-exec fd. */
void files_exec_cloexec(struct domain *d);

/* For other families: installs host fd `hostfd` (taken over) as a guest fd.
 * Returns the guest fd or -errno (hostfd closed on failure). */
int files_install(struct domain *d, int hostfd, int flags, enum ofd_kind kind,
		  const char *path, bool cloexec);

/* A host stat for the guest at ubuf, its owner as the guest's view shows
 * it (cred.h); 0 or -EFAULT. In sys_fs.c. */
struct stat;
long stat_to_user(struct domain *d, uint64_t ubuf, struct stat *st);

/* ---- confined paths (vmm/path.c) ---- */

/* Kernel-reported host path of host fd `fd` (readlink /proc/self/fd/N). */
int host_fd_path(int fd, char *buf, size_t len);
/* Guest path of a host path under the root; -ENOENT when outside. */
int host_to_guest(struct files *f, const char *host, char *out, size_t len);
/* Guest path of directory host fd `fd`: -ENOTDIR, -ENOENT (removed, or
 * outside the root), -ENAMETOOLONG (too deep to name). */
int files_dir_path(struct files *f, int fd, char *out, size_t len);
/* Whether a host path lies inside a writable entry. */
bool files_host_writable(struct files *f, const char *host);
/* Whether the file open on host fd `fd` lies inside a writable entry (a
 * directory too deep to name is placed by its named ancestor; a file too
 * deep to name is not writable through its fd). */
bool files_fd_writable(struct files *f, int fd);
/* Index of the writable tree host fd `fd` lies in (as files_fd_writable
 * places it), or -1. */
int files_fd_tree(struct files *f, int fd);
/* Whether host path p lies in the tree w (of length wlen; 0 means "/"). */
bool files_host_within(const char *p, const char *w, size_t wlen);

/* Copies a guest path string (PATH_MAX): -EFAULT, -ENAMETOOLONG, and
 * -ENOENT for "" unless empty_ok. */
int path_from_user(struct domain *d, uint64_t gva, char *buf, bool empty_ok);

/* Absolute guest path of `path` relative to guest dirfd (or AT_FDCWD). */
int path_compose(struct domain *d, int dirfd, const char *path, char *out, size_t outlen);

/* Guest fd number named by a magic path (/dev/stdin, /dev/fd/N,
 * /proc/self/fd/N ...), or -1. */
int path_magic_fd(const char *gpath);

/* Opens absolute guest path inside the root with host open flags (no write
 * intent check: callers use path_open). Returns a host fd or -errno. */
int path_open_root(struct files *f, const char *gpath, int flags, mode_t mode);

/* The guest-facing open: applies the write policy (EROFS), the umask, the
 * magic fd paths. flags are guest open flags. Returns a host fd or -errno;
 * gpath (2 * PATH_MAX bytes, may be NULL) gets the absolute guest path. */
int path_open(struct domain *d, int dirfd, const char *path, int flags, mode_t mode,
	      char *gpath);
/* Opening a FIFO without O_NONBLOCK waits for its other end, which must not
 * happen under the domain lock (the thread that would open the other end could
 * never run). If an open with these guest flags would wait so, returns an
 * O_PATH host fd of the FIFO (gpath as for path_open), for path_reopen with
 * the lock dropped; else -1, and the caller opens as usual. */
int path_fifo_lookup(struct domain *d, int dirfd, const char *path, int flags, char *gpath);
/* Opens the file of host fd `fd` anew with guest open flags (the magic link,
 * as Linux follows /proc/self/fd/N). Returns a host fd or -errno. */
int path_reopen(int fd, int flags);
/* The guest open flags path_open really uses (unknown bits dropped). */
int open_flags_clean(int flags);

/* O_PATH handle of a guest path (follow: final symlink followed). For stat,
 * access, chmod ... Returns a host fd or -errno. */
int path_lookup(struct domain *d, int dirfd, const char *path, bool follow, bool dir);

/* The parent directory of a path's final component, for namespace ops. */
struct parent {
	int fd;                 /* O_PATH of the parent directory */
	char name[NAME_MAX + 2 + 64]; /* final component, trailing slashes kept */
	bool dot;               /* final component is "", "." or ".." */
	bool writable;          /* inside a writable tree (or is a writable file) */
	bool is_wroot;          /* names a writable entry itself */
	bool wfile;             /* names a writable single-file entry */
	int went;               /* index of the writable tree holding it, or -1 */
	char host[PATH_MAX];    /* kernel-reported host path of the parent
	                         * ("" when it is too deep to name) */
	bool deep;              /* the parent is too deep to name: fd is all */
};
/* Resolves the parent inside the root. Returns 0 or -errno. p->fd must be
 * closed with parent_done. */
int path_parent(struct domain *d, int dirfd, const char *path, struct parent *p);
void parent_done(struct parent *p);

/* ---- lookups from a directory too deep to name (vmm/pathwalk.c) ----
 * A relative path whose base directory's path, joined with it, would pass
 * PATH_MAX is walked from the held directory instead of composed. */

/* O_PATH fd of the parent of directory `fd`; the root's parent is the root.
 * -EXDEV if the parent lies outside the root. */
int walk_up(struct files *f, int fd);
/* Walks `path` from directory basefd (the root if absolute) up to its final
 * component, following symlinks on the way (and the final one when follow). Returns an O_PATH fd of
 * the final component's directory and its name in `name` (a trailing slash
 * kept; ".", ".." stay literal, "" becomes "."), or -errno. */
int walk_path(struct files *f, int basefd, const char *path, bool follow, char *name,
	      size_t namelen);
/* 0 if directory `dirfd` lies in the root (its nearest named ancestor
 * does), else -ENOENT (as a named one outside answers) or -errno. */
int walk_inside(struct files *f, int dirfd);
/* Index of the writable tree directory `dirfd` lies in, or -1. */
int walk_went(struct files *f, int dirfd);
/* A file too deep to name has no path to place it by, and its directory is
 * known only to the lookup: the calling thread's last deep lookup remembers
 * which tree held host fd `fd` (went, -1 for none) for the call that made
 * it; walk_memo_went answers for the same fd on the same inode, else -1. */
void walk_memo(int fd, int went);
int walk_memo_went(int fd, const struct stat *st);

/* Temporarily clears the host umask around a creating call (the guest's
 * umask is applied by hand); the domain lock serializes guest creations. */
mode_t host_umask_clear(void);
void host_umask_restore(mode_t old);

/* ---- set-up and the loader ---- */
/* Sets up root, writable paths, cwd and fds 0-2 (the pdvm process's own
 * stdin/stdout/stderr). Returns 0 or -errno with a message in err. */
int files_init(struct domain *d, const struct domain_spec *c, char *err, size_t errlen);
void files_destroy(struct domain *d);
/* Drops a process's file table (the last reference of each description
 * closes its host fd). */
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
