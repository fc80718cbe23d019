/* seccomp_profile.c: a program held to tests/fixtures/seccomp/profile.json (pdvm run --seccomp-profile) sees what the kernel would give it — refused calls fail with the rule's errno on both syscall paths (a read of 7 bytes is one exitless calls would serve), a TRAP rule raises SIGSYS with SYS_SECCOMP, the call number and the arch, and a KILL_PROCESS rule ends it by SIGSYS. Mode: errno | trap | kill. */
#include "guest.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#define AUDIT_ARCH_X86_64 0xc000003eu

static volatile sig_atomic_t got, code, nr, errn;
static volatile unsigned arch;

static void on_sys(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got = sig;
	code = si->si_code;
	nr = si->si_syscall;
	arch = si->si_arch;
	errn = si->si_errno;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "errno";
	if (!strcmp(mode, "errno")) {
		struct utsname u;
		char buf[8];
		CHECK_ERR(syscall(SYS_uname, &u), EACCES, "uname refused by the profile");
		check(getpid() > 0, "getpid allowed");
		int fd = open("/dev/zero", O_RDONLY);
		check(fd >= 0, "open /dev/zero");
		/* Many times: exitless calls would answer these without an exit. */
		int refused = 0, read8 = 0;
		for (int i = 0; i < 200; i++) {
			errno = 0;
			refused += read(fd, buf, 7) == -1 && errno == EIO;
			read8 += read(fd, buf, 8) == 8;
		}
		check(refused == 200 && read8 == 200, "read of 7 bytes refused (EIO) %d/200, of 8 allowed %d/200",
		      refused, read8);
	} else if (!strcmp(mode, "trap")) {
		struct sigaction sa = { .sa_sigaction = on_sys, .sa_flags = SA_SIGINFO };
		sigaction(SIGSYS, &sa, NULL);
		errno = 0;
		long r = syscall(SYS_getppid);
		int e = errno;
		check(r == -1 && e == ENOSYS, "trapped getppid returns -1/ENOSYS (got %ld/%s)", r, errname(e));
		check(got == SIGSYS && code == 1 && nr == SYS_getppid && arch == AUDIT_ARCH_X86_64 && errn == 0,
		      "SIGSYS: code %d (SYS_SECCOMP 1), call %d, arch %#x, errno %d (0: a TRAP rule's data)", (int)code,
		      (int)nr, arch, (int)errn);
	} else if (!strcmp(mode, "kill")) {
		printf("before\n");
		fflush(stdout);
		syscall(SYS_sched_yield);
		printf("after: not killed\n");
		return 1;
	}
	printf("%d failures\n", g_failures);
	return g_failures ? 1 : 0;
}
