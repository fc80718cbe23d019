/* holes.c: security holes a hostile guest tried, one mode each; every attempt must get Linux's answer. Usage: holes clone-tls | sigreturn-rip | setid WRITABLE_DIR | sockets | unix-connect PATH|@ABSTRACT | abstract-self NAME | reach PID */
#include "guest.h"

#include <fcntl.h>
#include <stddef.h>
#include <sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>

#define KERNEL_ADDR 0xffff800000000000UL

/* clone(2) with a TLS base only the kernel half could hold: EPERM, for a
 * new process as for a thread (ARCH_SET_FS's rule). A child that got made
 * anyway must not run on: it leaves at once, without touching TLS. */
static void clone_tls(void)
{
	long r = syscall(SYS_clone, (long)(SIGCHLD | CLONE_SETTLS), 0L, 0L, 0L, (long)KERNEL_ADDR);
	if (r == 0)
		syscall(SYS_exit, 0);
	int e = errno;
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	errno = e;
	check(r == -1 && errno == EPERM, "fork-like clone with a kernel-half TLS: EPERM (got %ld/%s)", r,
	      errname(errno));
	/* The thread variant has no usable child path (it would return on a
	 * stack of its own); the call must fail before any child exists. */
	static char stack[16384] __attribute__((aligned(16)));
	long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SETTLS;
	r = syscall(SYS_clone, flags, (long)(stack + sizeof(stack)), 0L, 0L, (long)KERNEL_ADDR);
	check(r == -1 && errno == EPERM, "thread clone with a kernel-half TLS: EPERM (got %ld/%s)", r,
	      errname(errno));
}

static void on_usr1(int sig, siginfo_t *si, void *ucv)
{
	(void)sig, (void)si;
	ucontext_t *uc = ucv;
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)0x8000000000000000UL; /* non-canonical */
}

/* rt_sigreturn to a non-canonical RIP: Linux's return to user mode faults
 * and the process dies of SIGSEGV (exit 139); it must not take the VMM
 * down (exit 125). */
static void sigreturn_rip(void)
{
	struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	check(0, "still running after returning to a non-canonical RIP");
}

static int setid_bits(const char *path)
{
	struct stat st;
	return stat(path, &st) ? -1 : (int)(st.st_mode & 07000);
}

/* Set-ID bits and ownership in a writable tree: pdvm makes the files as
 * its own user, so a set-user-ID bit would plant a setuid-root binary and
 * a chown would give files away. An unprivileged process gets files of its
 * own and EPERM for a chown to anyone else. */
static void setid(const char *dir)
{
	char p[4096], q[4096];
	snprintf(p, sizeof(p), "%s/suid", dir);
	snprintf(q, sizeof(q), "%s/sgid-dir", dir);
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 04755);
	check(fd >= 0, "create %s mode 04755", p);
	check(setid_bits(p) == 0, "created without set-ID bits (%o)", setid_bits(p));
	check(fchmod(fd, 06755) == 0 && setid_bits(p) == 0, "fchmod 06755 keeps no set-ID bit (%o)", setid_bits(p));
	check(chmod(p, 04711) == 0 && setid_bits(p) == 0, "chmod 04711 keeps no set-ID bit (%o)", setid_bits(p));
	check(fchmodat(AT_FDCWD, p, 02755, 0) == 0 && setid_bits(p) == 0, "fchmodat 02755 keeps no set-ID bit (%o)",
	      setid_bits(p));
	check(mkdir(q, 02775) == 0 && setid_bits(q) == 0, "mkdir 02775 without set-group-ID (%o)", setid_bits(q));
	struct stat st;
	check(stat(p, &st) == 0, "stat");
	errno = 0;
	check(chown(p, 4321, (gid_t)-1) < 0 && errno == EPERM, "chown to another user: EPERM (%s)", errname(errno));
	errno = 0;
	check(chown(p, (uid_t)-1, 4321) < 0 && errno == EPERM, "chown to another group: EPERM (%s)", errname(errno));
	errno = 0;
	check(fchown(fd, 4321, 4321) < 0 && errno == EPERM, "fchown to another user: EPERM (%s)", errname(errno));
	errno = 0;
	check(lchown(p, 4321, (gid_t)-1) < 0 && errno == EPERM, "lchown to another user: EPERM (%s)", errname(errno));
	check(chown(p, (uid_t)-1, (gid_t)-1) == 0, "chown -1 -1 is a no-op that succeeds");
	check(chown(p, st.st_uid, st.st_gid) == 0, "chown to the current owner succeeds");
	close(fd);
}

/* setsockopt of an int: 0, or -errno */
static int opt(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v)) ? -errno : 0;
}

#define SOCK_CHECK(expr, want, what)                                                               \
	do {                                                                                       \
		int r_ = (expr);                                                                   \
		check(r_ == (want), "%s: %s (got %s)", (what), errname(-(want)), errname(-r_));   \
	} while (0)

/* Sockets as an unprivileged process has them: no raw sockets, and none of
 * the options that need CAP_NET_ADMIN or CAP_NET_RAW (pdvm's host sockets
 * are a root process's). The same answers natively as user nobody. */
static void sockets(void)
{
	errno = 0;
	int raw = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	check(raw < 0 && errno == EPERM, "raw socket: EPERM (%s)", errname(errno));
	errno = 0;
	int raw6 = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
	check(raw6 < 0 && errno == EPERM, "raw IPv6 socket: EPERM (%s)", errname(errno));
	int s = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0);
	check(s >= 0 && u >= 0, "TCP and UDP sockets");
	SOCK_CHECK(opt(s, SOL_SOCKET, SO_REUSEADDR, 1), 0, "SO_REUSEADDR");
	SOCK_CHECK(opt(s, IPPROTO_TCP, TCP_NODELAY, 1), 0, "TCP_NODELAY");
	SOCK_CHECK(opt(s, SOL_SOCKET, SO_PRIORITY, 3), 0, "SO_PRIORITY 3");
	SOCK_CHECK(opt(s, SOL_SOCKET, SO_PRIORITY, 7), -EPERM, "SO_PRIORITY 7");
	SOCK_CHECK(opt(s, SOL_SOCKET, SO_MARK, 42), -EPERM, "SO_MARK");
	SOCK_CHECK(opt(s, SOL_SOCKET, SO_RCVBUFFORCE, 1 << 20), -EPERM, "SO_RCVBUFFORCE");
	SOCK_CHECK(opt(s, SOL_SOCKET, SO_SNDBUFFORCE, 1 << 20), -EPERM, "SO_SNDBUFFORCE");
	SOCK_CHECK(opt(s, SOL_SOCKET, SO_DEBUG, 1), -EACCES, "SO_DEBUG 1");
	SOCK_CHECK(opt(s, SOL_SOCKET, SO_DEBUG, 0), 0, "SO_DEBUG 0");
	SOCK_CHECK(opt(s, IPPROTO_IP, IP_TRANSPARENT, 1), -EPERM, "IP_TRANSPARENT");
	SOCK_CHECK(opt(s, IPPROTO_TCP, TCP_REPAIR, 1), -EPERM, "TCP_REPAIR");
	SOCK_CHECK(setsockopt(u, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) ? -errno : 0, 0, "SO_BINDTODEVICE lo (unprivileged since Linux 5.7)");
	/* iptables' set-sockopt: EPERM, or ENOPROTOOPT where ip_tables is not loaded */
	char blob[128] = { 0 };
	errno = 0;
	int r = setsockopt(u, IPPROTO_IP, 64 /* IPT_SO_SET_REPLACE */, blob, sizeof(blob));
	check(r < 0 && (errno == EPERM || errno == ENOPROTOOPT), "IPT_SO_SET_REPLACE: EPERM (%s)", errname(errno));
	close(s);
	close(u);
}

/* Prints how a connect to UNIX socket PATH ends: "connect: OK" or the errno
 * name; the caller knows what it must be. */
static socklen_t unix_addr(struct sockaddr_un *a, const char *path)
{
	*a = (struct sockaddr_un){ .sun_family = AF_UNIX };
	if (path[0] != '@') {
		snprintf(a->sun_path, sizeof(a->sun_path), "%s", path);
		return sizeof(*a);
	}
	/* "@NAME": the abstract name NAME, its length exactly */
	size_t n = strlen(path + 1) < sizeof(a->sun_path) - 1 ? strlen(path + 1) : sizeof(a->sun_path) - 1;
	memcpy(a->sun_path + 1, path + 1, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static void unix_connect(const char *path)
{
	struct sockaddr_un a;
	socklen_t al = unix_addr(&a, path);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	check(s >= 0, "socket");
	int r = connect(s, (struct sockaddr *)&a, al);
	printf("connect: %s\n", r == 0 ? "OK" : errname(errno));
	close(s);
}

/* The domain's own abstract name stays reachable: bind, listen, connect. */
static void abstract_self(const char *name)
{
	struct sockaddr_un a;
	char at[100];
	snprintf(at, sizeof(at), "@%s", name);
	socklen_t al = unix_addr(&a, at);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	check(l >= 0 && bind(l, (struct sockaddr *)&a, al) == 0 && listen(l, 1) == 0, "bind and listen on @%s", name);
	unix_connect(at);
	close(l);
	unix_connect(at);   /* closed: nobody holds it now */
	/* A datagram server answers a client's autobound name. */
	int sv = socket(AF_UNIX, SOCK_DGRAM, 0), cl = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un from;
	socklen_t fl = sizeof(from);
	sa_family_t fam = AF_UNIX;
	char b[8];
	check(bind(sv, (struct sockaddr *)&a, al) == 0 && bind(cl, (struct sockaddr *)&fam, sizeof(fam)) == 0,
	      "bind a datagram server, autobind a client");
	check(sendto(cl, "q", 1, 0, (struct sockaddr *)&a, al) == 1 &&
	      recvfrom(sv, b, sizeof(b), 0, (struct sockaddr *)&from, &fl) == 1 && fl > sizeof(sa_family_t),
	      "the client's datagram arrives from its autobound name");
	check(sendto(sv, "r", 1, 0, (struct sockaddr *)&from, fl) == 1 && recv(cl, b, sizeof(b), 0) == 1,
	      "the answer reaches the autobound name");
	close(sv);
	close(cl);
}

/* What a domain can do to host process PID (another domain's pdvm): one
 * line per attempt, "WHAT: OK" or the errno name. The caller wants no OK
 * and PID alive. SIGKILL for real: a kill that works must show. */
static void reach(const char *pid)
{
	char p[64];
	int r = kill(atoi(pid), SIGKILL);
	printf("kill: %s\n", r == 0 ? "OK" : errname(errno));
	long l = ptrace(PTRACE_ATTACH, atoi(pid), 0, 0);
	printf("ptrace: %s\n", l == 0 ? "OK" : errname(errno));
	static const char *const files[] = { "mem", "environ", "fd/0" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "/proc/%s/%s", pid, files[i]);
		int fd = open(p, O_RDONLY);
		printf("%s: %s\n", files[i], fd >= 0 ? "OK" : errname(errno));
		if (fd >= 0)
			close(fd);
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "clone-tls"))
		clone_tls();
	else if (!strcmp(mode, "sigreturn-rip"))
		sigreturn_rip();
	else if (!strcmp(mode, "unix-connect") && argc > 2)
		unix_connect(argv[2]);
	else if (!strcmp(mode, "abstract-self") && argc > 2)
		abstract_self(argv[2]);
	else if (!strcmp(mode, "reach") && argc > 2)
		reach(argv[2]);
	else if (!strcmp(mode, "sockets"))
		sockets();
	else if (!strcmp(mode, "setid") && argc > 2)
		setid(argv[2]);
	else
		check(0, "unknown mode '%s'", mode);
	return g_failures ? 1 : 0;
}
