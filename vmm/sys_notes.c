/* sys_notes.c: what the dispatch tables cannot say about a call — the part pdvm leaves out, or why it refuses it as Linux refuses an unprivileged process — for docs/syscalls.md (tools/gen-syscalls.sh). */
#include <sys/syscall.h>

#include "syscall.h"

/*
 * One note per call that has a handler but is not simply implemented:
 *   "partial: what is missing"   accepted, not (fully) honoured
 *   "refused: ERRNO (why) ..."   Linux's answer to an unprivileged process
 *   "absent: why"                ENOSYS, as x86-64 Linux answers too
 * A call with a handler and no note is implemented; one without a handler
 * is unimplemented (ENOSYS, logged once). tools/syscall_status.c refuses a
 * note on a call without a handler, a sys_priv.c call without a refused or
 * absent note, and any other form; the unit test test_syscalls_doc fails
 * when docs/syscalls.md is not what these make. No '|' in a note: the
 * document is a markdown table.
 */
const struct syscall_note syscall_notes[] = {
	/* memory */
	{ SYS_mmap, "partial: MAP_SHARED file mappings map the domain's page cache (one frame per file page, "
		    "coherent with the domain's other mappings and its read/write of the file, written back on "
		    "msync, the page's last munmap and exit), not the host's: a writer outside the domain is "
		    "seen only by pages mapped after it; pages past EOF read as zero instead of raising SIGBUS "
		    "(stores there are not written back); MAP_HUGETLB is ENOMEM (no huge page pool)" },
	{ SYS_madvise, "partial: only MADV_DONTNEED acts (private pages read back as zero, shared ones keep "
		       "their contents); the other advice Linux "
		       "takes is accepted and ignored (MADV_FREE keeps the data, MADV_DONTFORK still copies), "
		       "MADV_REMOVE, MADV_WIPEONFORK, MADV_POPULATE_READ/WRITE and newer advice are EINVAL" },
	{ SYS_mlock, "partial: accepted, nothing is locked (the host may swap the domain's memory)" },
	{ SYS_munlock, "partial: accepted, nothing was locked" },
	{ SYS_mlockall, "partial: accepted, nothing is locked (the host may swap the domain's memory)" },
	{ SYS_munlockall, "partial: accepted, nothing was locked" },

	/* files */
	{ SYS_memfd_create, "partial: an MFD_HUGETLB file is made but mapping it is ENOMEM (no huge page pool); "
			    "F_SEAL_FUTURE_WRITE is EBUSY while a shared mapping of the file exists (its write-back "
			    "could not go on); the contents live in host memory outside the domain's --memory" },
	{ SYS_vmsplice, "partial: the bytes are copied (writev and readv of the pipe): the pipe never holds the "
			"caller's pages, and SPLICE_F_GIFT gives nothing" },
	{ SYS_preadv2, "partial: no RWF_* flags (EOPNOTSUPP)" },
	{ SYS_pwritev2, "partial: no RWF_* flags (EOPNOTSUPP)" },
	{ SYS_fadvise64, "partial: the advice is checked and accepted, not given to the host's page cache" },
	{ SYS_fcntl, "partial: F_GETOWN, F_SETOWN(_EX), F_GETSIG, F_SETSIG, F_GETLEASE, F_SETLEASE, F_NOTIFY and "
		     "the read/write hints are EINVAL; F_SETFL ignores O_ASYNC (no SIGIO)" },
	{ SYS_ioctl, "partial: FIOCLEX, FIONCLEX, FIONBIO, FIONREAD and the terminal requests (termios, window "
		     "size, process group, output queue, flush, flow, break, a pseudo-terminal's number, lock, "
		     "packet mode, peer and exclusive mode, controlling terminal and session of the domain's own "
		     "ptys); every other request is ENOTTY" },
	{ SYS_sync, "partial: flushes the file system of the domain's root, not every file system of the host" },
	{ SYS_chroot, "refused: EPERM (no CAP_SYS_CHROOT; the directory is resolved first, as Linux does)" },

	/* processes and threads */
	{ SYS_pidfd_open, "partial: no PIDFD_THREAD (EINVAL, as before Linux 6.9); a pidfd polls readable when "
			  "its process exits but never POLLHUP once it is reaped" },
	{ SYS_rseq, "refused: EPERM (pdvm cannot see the host preempt or migrate a vCPU thread, so it could not "
		    "abort a critical section; glibc runs without rseq; the arguments are checked first)" },
	{ SYS_clone, "partial: a thread shares memory, files and handlers (CLONE_VM, FILES, SIGHAND with "
		     "CLONE_THREAD) and, with CLONE_FS, its working directory and umask (without, a copy of its "
		     "own); a new process shares neither files nor handlers (EINVAL); CLONE_PIDFD, "
		     "CLONE_IO, CLONE_UNTRACED and CLONE_PTRACE are EINVAL; a new namespace is EPERM" },
	{ SYS_clone3, "partial: as clone, with CLONE_CLEAR_SIGHAND; CLONE_PIDFD and CLONE_INTO_CGROUP are ENOSYS "
		      "(a caller falls back to clone as on an older kernel), set_tid EPERM" },
	{ SYS_futex, "partial: no priority-inheritance operations (FUTEX_LOCK_PI, LOCK_PI2, TRYLOCK_PI, "
		     "UNLOCK_PI, WAIT_REQUEUE_PI, CMP_REQUEUE_PI: ENOSYS)" },
	{ SYS_wait4, "partial: the rusage has the child's CPU time (and its waited-for children's) all as "
		     "user time, and the domain's peak resident size; the rest is zero" },
	{ SYS_waitid, "partial: as wait4's rusage" },
	{ SYS_prctl, "partial: PR_SET/GET_NAME, PR_SET/GET_DUMPABLE, PR_SET/GET_PDEATHSIG and "
		     "PR_SET/GET_NO_NEW_PRIVS; the parent-death signal is kept but never sent; every other "
		     "option is EINVAL" },
	{ SYS_personality, "partial: the persona is kept, reported and inherited, not applied "
			   "(ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC and the rest change nothing)" },
	{ SYS_setrlimit, "partial: every limit is kept, reported and inherited; only RLIMIT_NOFILE and "
			 "RLIMIT_NICE are enforced (the domain's memory bounds it whatever RLIMIT_AS says)" },
	{ SYS_prlimit64, "partial: the caller's own process only (ESRCH for another); every limit is kept, "
			 "reported and inherited, only RLIMIT_NOFILE and RLIMIT_NICE are enforced" },
	{ SYS_setgroups, "refused: EPERM (no CAP_SETGID, whatever the list)" },
	{ SYS_getrusage, "partial: RUSAGE_SELF and RUSAGE_CHILDREN give CPU time all as user time and the "
			 "domain's peak resident size, the rest zero; RUSAGE_THREAD is exact" },
	{ SYS_times, "partial: the process's and its waited-for children's CPU time, all as user time" },

	/* scheduling */
	{ SYS_sched_setaffinity, "partial: the mask is checked and accepted, not applied: the vCPU threads run "
				 "on any host CPU" },
	{ SYS_setpriority, "partial: nice values are kept for getpriority and /proc, not applied to the host "
			   "threads" },
	{ SYS_sched_setscheduler, "partial: SCHED_BATCH and SCHED_IDLE are kept for sched_getscheduler and "
				  "/proc, not applied to the host threads; real-time policies are EPERM whatever "
				  "RLIMIT_RTPRIO says" },
	{ SYS_getcpu, "partial: the NUMA node is always 0" },

	/* time */
	{ SYS_clock_gettime, "partial: the CPU clock of a given process or thread (the negative ids of "
			     "clock_getcpuclockid and pthread_getcpuclockid) is EINVAL; CLOCK_PROCESS_CPUTIME_ID "
			     "counts the whole pdvm process" },
	{ SYS_clock_getres, "partial: the CPU clock of a given process or thread is EINVAL" },
	{ SYS_clock_nanosleep, "partial: the CPU clock of a given process or thread is EINVAL" },
	{ SYS_setitimer, "partial: ITIMER_VIRTUAL counts system time too (as ITIMER_PROF); CPU time is the host "
			 "threads', so pdvm's own work for a thread counts as its system time" },
	{ SYS_getitimer, "partial: as setitimer" },
	{ SYS_timer_create, "partial: CPU clocks of this process and its threads only (another process's is "
			    "EINVAL); alarm clocks are EINVAL; at most 31 timers a process (EAGAIN)" },

	/* sockets */
	{ SYS_socket, "partial: AF_UNIX, AF_INET, AF_INET6 and route netlink only (AF_PACKET, AF_VSOCK and the "
		      "rest are EAFNOSUPPORT, other netlink protocols EPROTONOSUPPORT); raw sockets and "
		      "privileged options as an unprivileged process gets them" },
	{ SYS_socketpair, "partial: EAFNOSUPPORT for every family but AF_UNIX, where Linux says EOPNOTSUPP for "
			  "one it has that makes no pairs (AF_INET, AF_INET6, AF_NETLINK)" },
	{ SYS_sendmsg, "partial: SCM_RIGHTS passes descriptors, SCM_CREDENTIALS the sender's own (as Linux "
		       "checks them); the other SOL_SOCKET control messages are EOPNOTSUPP" },
	{ SYS_recvmsg, "partial: SCM_CREDENTIALS name the domain's sending process where a connection "
		       "tells it; the sender of a datagram from an unconnected socket, and a process outside "
		       "the domain, are pid 0" },

	/* vmm/sys_priv.c: refused as Linux refuses an unprivileged process */
	{ SYS_init_module, "refused: EPERM (no CAP_SYS_MODULE)" },
	{ SYS_finit_module, "refused: EPERM (no CAP_SYS_MODULE)" },
	{ SYS_delete_module, "refused: EPERM (no CAP_SYS_MODULE)" },
	{ SYS_reboot, "refused: EPERM (no CAP_SYS_BOOT)" },
	{ SYS_kexec_load, "refused: EPERM (no CAP_SYS_BOOT)" },
	{ SYS_kexec_file_load, "refused: EPERM (no CAP_SYS_BOOT)" },
	{ SYS_swapon, "refused: EPERM (no CAP_SYS_ADMIN; bad flags are EINVAL first)" },
	{ SYS_swapoff, "refused: EPERM (no CAP_SYS_ADMIN)" },
	{ SYS_acct, "refused: EPERM (no CAP_SYS_PACCT)" },
	{ SYS_vhangup, "refused: EPERM (no CAP_SYS_TTY_CONFIG)" },
	{ SYS_sethostname, "refused: EPERM (no CAP_SYS_ADMIN: the host's UTS namespace)" },
	{ SYS_setdomainname, "refused: EPERM (no CAP_SYS_ADMIN: the host's UTS namespace)" },
	{ SYS_syslog, "refused: EPERM (no CAP_SYSLOG, as with dmesg_restrict=1, Debian's default)" },
	{ SYS_mount, "refused: EPERM (no CAP_SYS_ADMIN; the strings, options and target are checked first: "
		     "EFAULT, EINVAL, ENOENT, ENOTDIR)" },
	{ SYS_umount2, "refused: EPERM (no CAP_SYS_ADMIN; flags and target are checked first)" },
	{ SYS_pivot_root, "refused: EPERM (no CAP_SYS_ADMIN)" },
	{ SYS_mount_setattr, "refused: EPERM (no CAP_SYS_ADMIN; flags and size are checked first)" },
	{ SYS_fsopen, "refused: EPERM (no CAP_SYS_ADMIN)" },
	{ SYS_fsconfig, "refused: EINVAL (not a file system context: fsopen and fspick are EPERM; EBADF, "
			"EOPNOTSUPP and the argument checks as Linux)" },
	{ SYS_fsmount, "refused: EPERM (no CAP_SYS_ADMIN)" },
	{ SYS_fspick, "refused: EPERM (no CAP_SYS_ADMIN)" },
	{ SYS_move_mount, "refused: EPERM (no CAP_SYS_ADMIN)" },
	{ SYS_open_tree, "refused: EPERM for OPEN_TREE_CLONE (a detached mount needs CAP_SYS_ADMIN); without "
			 "it an O_PATH open, as any process may make" },
	{ SYS_settimeofday, "refused: EPERM (no CAP_SYS_TIME; the time is copied and checked first)" },
	{ SYS_clock_settime, "refused: EPERM (no CAP_SYS_TIME; a CPU clock can never be set; EINVAL for a "
			     "clock without a setter)" },
	{ SYS_adjtimex, "refused: EPERM for any setting (no CAP_SYS_TIME); a read (modes 0 or "
			"ADJ_OFFSET_SS_READ) returns the host clock's state" },
	{ SYS_clock_adjtime, "refused: EPERM for any setting of CLOCK_REALTIME (no CAP_SYS_TIME), a read "
			     "returns the host clock's state; other clocks EOPNOTSUPP or EINVAL" },
	{ SYS_iopl, "refused: EPERM to raise the I/O privilege level (no CAP_SYS_RAWIO); level 0 is kept (0)" },
	{ SYS_ioperm, "refused: EPERM to grant ports (no CAP_SYS_RAWIO); revoking them succeeds" },
	{ SYS_quotactl, "refused: EPERM on a block device (the host's quotas); Q_SYNC without a device 0, "
			"other commands without one ENODEV, a path that is no block device ENOTBLK" },
	{ SYS_ptrace, "partial: between the domain's own processes (any other pid is ESRCH); no hardware "
		      "breakpoints or watchpoints (a debug register enabled through POKEUSER is EIO), no "
		      "PEEKSIGINFO, SYSEMU or seccomp stops; a snapshot is refused while a process is traced" },
	{ SYS_bpf, "refused: EPERM (unprivileged BPF disabled, Debian's default); a command on an object's fd "
		   "is EPERM too where Linux says EBADF or EINVAL" },
	{ SYS_perf_event_open, "refused: EACCES (as with perf_event_paranoid 3, Debian's default: the host's "
			       "counters would count pdvm too)" },
	{ SYS_fanotify_init, "refused: EPERM (no CAP_SYS_ADMIN; the file-handle groups Linux 5.13+ allows an "
			     "unprivileged process are refused too)" },
	{ SYS_open_by_handle_at, "refused: EPERM (no CAP_DAC_READ_SEARCH; fd and handle checked first, as "
				 "Linux 6.10+)" },
	{ SYS_unshare, "refused: EPERM for any namespace (no CAP_SYS_ADMIN; no user namespace in a chroot); "
		       "files, fs and SysV undo of a single-threaded process are its own (0); CLONE_FS gives a "
		       "thread of a multi-threaded process its own working directory and umask; its own fd "
		       "table there is EINVAL" },
	{ SYS_setns, "refused: EPERM for a namespace file (no CAP_SYS_ADMIN); EBADF, or EINVAL for any other fd" },

	/* vmm/sys_priv.c: ENOSYS, as x86-64 Linux answers */
	{ SYS__sysctl, "absent: removed in Linux 5.5" },
	{ SYS_create_module, "absent: removed in Linux 2.6" },
	{ SYS_get_kernel_syms, "absent: removed in Linux 2.6" },
	{ SYS_query_module, "absent: removed in Linux 2.6" },
	{ SYS_nfsservctl, "absent: removed in Linux 3.1" },
	{ SYS_getpmsg, "absent: never implemented" },
	{ SYS_putpmsg, "absent: never implemented" },
	{ SYS_afs_syscall, "absent: never implemented" },
	{ SYS_tuxcall, "absent: never implemented" },
	{ SYS_security, "absent: never implemented" },
	{ SYS_vserver, "absent: never implemented" },
	{ SYS_set_thread_area, "absent: 32-bit only (arch_prctl sets the TLS base)" },
	{ SYS_get_thread_area, "absent: 32-bit only (arch_prctl reads the TLS base)" },
	{ SYS_epoll_ctl_old, "absent: never in the 64-bit ABI" },
	{ SYS_epoll_wait_old, "absent: never in the 64-bit ABI" },
	{ SYS_lookup_dcookie, "absent: removed in Linux 6.8" },
	{ -1, NULL },
};
