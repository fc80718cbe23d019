/* rr_calls.c: the system calls record/replay makes again on replay (memory map, signal state, the fd table's numbering, exec, exit) and those it answers from the trace (everything that reads the world). */
#include <fcntl.h>
#include <linux/sched.h>
#include <sys/syscall.h>

#include "replay/rr_calls.h"

#define MFD_CLOEXEC_FLAG 1u

static void newfd(struct rr_call *c, enum rr_class cls, int arg, uint64_t bit)
{
	c->cls = cls;
	c->cloexec_arg = arg;
	c->cloexec_bit = bit;
}

bool rr_open_readonly(uint64_t nr, const uint64_t a[6])
{
	uint64_t flags = nr == SYS_open ? a[1] : nr == SYS_openat ? a[2] : (uint64_t)-1;
	return (flags & O_ACCMODE) == O_RDONLY && !(flags & (O_CREAT | O_TRUNC | __O_TMPFILE));
}

void rr_classify(uint64_t nr, const uint64_t a[6], struct rr_call *c)
{
	*c = (struct rr_call){ .cls = RR_EMULATE, .cloexec_arg = -1, .pair_arg = -1 };
	switch (nr) {
	/* The address space: the replay must build the same one. */
	case SYS_brk: case SYS_mmap: case SYS_munmap: case SYS_mprotect: case SYS_mremap:
	case SYS_madvise: case SYS_arch_prctl: case SYS_set_tid_address: case SYS_set_robust_list:
	case SYS_rseq:
	/* Signal state, and signals a process sends itself. */
	case SYS_rt_sigaction: case SYS_rt_sigprocmask: case SYS_sigaltstack: case SYS_rt_sigreturn:
	case SYS_kill: case SYS_tkill: case SYS_tgkill:
	case SYS_rt_sigtimedwait: case SYS_rt_sigsuspend: case SYS_pause:
	/* The fd table's numbering, the paths a replayed open resolves. */
	case SYS_close: case SYS_close_range: case SYS_dup: case SYS_dup2: case SYS_dup3:
	case SYS_chdir: case SYS_fchdir: case SYS_umask:
	case SYS_execve: case SYS_execveat: case SYS_exit: case SYS_exit_group:
		c->cls = RR_EXECUTE;
		return;
	case SYS_fcntl:
		/* Numbering and close-on-exec; the rest reads the file. */
		if (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC || a[1] == F_SETFD || a[1] == F_GETFD)
			c->cls = RR_EXECUTE;
		return;
	case SYS_open:
		newfd(c, RR_OPEN, 1, O_CLOEXEC);
		return;
	case SYS_openat:
		newfd(c, RR_OPEN, 2, O_CLOEXEC);
		return;
	case SYS_creat:
		newfd(c, RR_NEWFD, -1, 0);
		return;
	case SYS_socket: case SYS_timerfd_create: case SYS_eventfd2:
		newfd(c, RR_NEWFD, 1, O_CLOEXEC);
		return;
	case SYS_memfd_create:
		newfd(c, RR_NEWFD, 1, MFD_CLOEXEC_FLAG);
		return;
	case SYS_epoll_create1: case SYS_inotify_init1:
		newfd(c, RR_NEWFD, 0, O_CLOEXEC);
		return;
	case SYS_eventfd: case SYS_epoll_create: case SYS_inotify_init: case SYS_accept:
	case SYS_pidfd_open: case SYS_openat2:
		newfd(c, RR_NEWFD, -1, 0);
		return;
	case SYS_accept4: case SYS_signalfd4:
		newfd(c, RR_NEWFD, 3, O_CLOEXEC);
		return;
	case SYS_pipe:
		newfd(c, RR_NEWFD2, -1, 0);
		c->pair_arg = 0;
		return;
	case SYS_pipe2:
		newfd(c, RR_NEWFD2, 1, O_CLOEXEC);
		c->pair_arg = 0;
		return;
	case SYS_socketpair:
		newfd(c, RR_NEWFD2, 1, O_CLOEXEC);
		c->pair_arg = 3;
		return;
	case SYS_sendfile: case SYS_splice: case SYS_tee: case SYS_copy_file_range: case SYS_vmsplice:
		/* File to file in the host, out of the trace's sight: EINVAL,
		 * as for descriptors that cannot do it, and programs copy
		 * through memory instead (busybox cat, coreutils cp do). */
		c->cls = RR_EINVAL;
		return;
	case SYS_write: case SYS_writev: case SYS_pwrite64: case SYS_pwritev:
		c->cls = RR_WRITE;
		return;
	case SYS_clone: case SYS_fork: case SYS_vfork:
		/* A thread (on a page-table view of its own, vmm/crew.c) or a
		 * process: made again, with the recorded id. record.c refuses
		 * the ones whose memory would be shared unseen. */
		c->cls = RR_EXECUTE;
		return;
	case SYS_clone3:
		/* glibc falls back to clone, whose flags are in registers. */
		c->cls = RR_ENOSYS;
		return;
	case SYS_recvmsg: case SYS_recvmmsg:
		c->cls = RR_REFUSE;
		c->why = "recvmsg (descriptors it may receive)";
		return;
	case SYS_io_uring_setup: case SYS_shmat: case SYS_userfaultfd: case SYS_ptrace:
		c->cls = RR_REFUSE;
		c->why = "this call";
		return;
	}
}
