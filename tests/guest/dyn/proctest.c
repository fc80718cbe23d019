/* proctest.c: processes in a domain — fork, pipes, exec, wait, process groups, signals and masks across fork and exec; output compared with native. */
#define _GNU_SOURCE
#include <errno.h>
#include <semaphore.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static volatile sig_atomic_t got_chld, got_usr1;

static void on_chld(int s) { (void)s; got_chld++; }
static void on_usr1(int s) { (void)s; got_usr1++; }

static void report_wait(const char *what, int st)
{
	if (WIFEXITED(st))
		printf("%s: exited %d\n", what, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by %d\n", what, WTERMSIG(st));
	else
		printf("%s: status %#x\n", what, st);
}

/* The exec'd half: prints what it inherited, then exits 7. */
static int child_main(void)
{
	sigset_t m;
	struct sigaction sa;
	sigprocmask(SIG_SETMASK, NULL, &m);
	sigaction(SIGUSR1, NULL, &sa);
	printf("exec child: USR2 blocked %d, USR1 handler %s, TERM ignored %d\n",
	       sigismember(&m, SIGUSR2), sa.sa_handler == SIG_DFL ? "default" : "other",
	       ({ struct sigaction t; sigaction(SIGTERM, NULL, &t); t.sa_handler == SIG_IGN; }));
	printf("exec child: fd 9 %s, fd 10 %s\n", fcntl(9, F_GETFD) >= 0 ? "open" : "closed",
	       fcntl(10, F_GETFD) >= 0 ? "open" : "closed");
	char buf[64] = "";
	ssize_t n = read(0, buf, sizeof(buf) - 1);
	printf("exec child: read %zd bytes from its stdin: %s", n, buf);
	fflush(stdout);
	return 7;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 1 && !strcmp(argv[1], "child"))
		return child_main();

	/* 1. fork: separate memory, the child's exit status. */
	int shared = 1;
	pid_t pid = fork();
	if (pid == 0) {
		shared = 42;
		_exit(shared + 1);
	}
	int st;
	printf("fork: waited for the right pid %d\n", waitpid(pid, &st, 0) == pid);
	report_wait("fork child", st);
	printf("fork: parent's variable still %d\n", shared);

	/* 2. a pipe between two processes, EOF when the writer closes. */
	int p[2];
	if (pipe(p))
		return 1;
	if ((pid = fork()) == 0) {
		close(p[0]);
		for (int i = 0; i < 1000; i++)
			dprintf(p[1], "line %d\n", i);
		_exit(0);
	}
	close(p[1]);
	long total = 0;
	char b[4096];
	ssize_t n;
	while ((n = read(p[0], b, sizeof(b))) > 0)
		total += n;
	close(p[0]);
	waitpid(pid, &st, 0);
	printf("pipe: %ld bytes through it, then EOF\n", total);

	/* 3. SIGCHLD handler, and a child killed by a signal. */
	struct sigaction sa = { .sa_handler = on_chld };
	sigaction(SIGCHLD, &sa, NULL);
	if ((pid = fork()) == 0) {
		pause();
		_exit(0);
	}
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	report_wait("signalled child", st);
	printf("SIGCHLD arrived: %d\n", got_chld > 0);

	/* 4. exec: masks survive, handlers reset, ignored stays ignored,
	 * close-on-exec closes, stdin from a pipe via dup2. */
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	sigprocmask(SIG_BLOCK, &m, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGTERM, SIG_IGN);
	if (pipe(p))
		return 1;
	if ((pid = fork()) == 0) {
		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		dup2(1, 9);
		fcntl(dup2(1, 10), F_SETFD, FD_CLOEXEC);
		execl(argv[0], argv[0], "child", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	write(p[1], "hello child\n", 12);
	close(p[1]);
	waitpid(pid, &st, 0);
	report_wait("exec child", st);
	sigprocmask(SIG_UNBLOCK, &m, NULL);
	signal(SIGTERM, SIG_DFL);

	/* 5. mask inherited by fork; pending signals are not. */
	sigprocmask(SIG_BLOCK, &m, NULL);
	raise(SIGUSR2);
	if ((pid = fork()) == 0) {
		sigset_t pend, cur;
		sigpending(&pend);
		sigprocmask(SIG_SETMASK, NULL, &cur);
		printf("fork child: USR2 blocked %d, pending %d\n", sigismember(&cur, SIGUSR2),
		       sigismember(&pend, SIGUSR2));
		_exit(0);
	}
	waitpid(pid, &st, 0);
	signal(SIGUSR2, SIG_IGN); /* drop the pending one */
	sigprocmask(SIG_UNBLOCK, &m, NULL);
	signal(SIGUSR2, SIG_DFL);

	/* 6. process groups: setpgid, kill to a group, getpgid. */
	if ((pid = fork()) == 0) {
		setpgid(0, 0);
		pause();
		_exit(0);
	}
	setpgid(pid, pid); /* both sides, as shells do */
	printf("group: child leads its own group %d\n", getpgid(pid) == pid);
	printf("group: parent's group unchanged %d\n", getpgid(0) == getpgrp());
	kill(-pid, SIGKILL);
	waitpid(pid, &st, 0);
	report_wait("group-killed child", st);

	/* 7. wait semantics: ECHILD, WNOHANG, waitid. */
	printf("wait without children: %s\n", waitpid(-1, &st, 0) < 0 && errno == ECHILD ? "ECHILD" : "?");
	if ((pid = fork()) == 0) {
		usleep(100000);
		_exit(3);
	}
	printf("WNOHANG before exit: %d\n", waitpid(pid, &st, WNOHANG));
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	waitid(P_PID, pid, &si, WEXITED);
	printf("waitid: right pid %d, code %s, status %d\n", si.si_pid == pid,
	       si.si_code == CLD_EXITED ? "CLD_EXITED" : "?", si.si_status);

	/* 8. posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK)) of a real program. */
	char *sargv[] = { "sh", "-c", "exit 5", NULL };
	if (posix_spawn(&pid, "/bin/sh", NULL, NULL, sargv, environ) == 0) {
		waitpid(pid, &st, 0);
		report_wait("posix_spawn sh", st);
	}

	/* 9. vfork + exec of a missing program: the child's own _exit. */
	if ((pid = vfork()) == 0) {
		execl("/nonexistent/prog", "x", (char *)NULL);
		_exit(errno == ENOENT ? 40 : 41);
	}
	waitpid(pid, &st, 0);
	report_wait("vfork missing exec", st);

	/* 10. an interval timer in the parent is not inherited. */
	struct itimerval it = { { 0, 0 }, { 5, 0 } }, got;
	setitimer(ITIMER_REAL, &it, NULL);
	if ((pid = fork()) == 0) {
		getitimer(ITIMER_REAL, &got);
		printf("fork child: itimer armed %d\n", got.it_value.tv_sec || got.it_value.tv_usec);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	/* 11. a fork child's own address space changes take effect at once:
	 * a page it unmapped faults, a page it made read-only cannot be
	 * written, and the parent's copy is untouched. */
	volatile char *pg = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pg[0] = 'p';
	pg[4096] = 'q';
	if ((pid = fork()) == 0) {
		pg[0] = 'c';
		munmap((void *)pg, 4096);
		pg[0] = 'x'; /* SIGSEGV */
		_exit(0);
	}
	waitpid(pid, &st, 0);
	report_wait("child touching what it unmapped", st);
	if ((pid = fork()) == 0) {
		mprotect((void *)(pg + 4096), 4096, PROT_READ);
		pg[4096] = 'x'; /* SIGSEGV */
		_exit(0);
	}
	waitpid(pid, &st, 0);
	report_wait("child writing what it made read-only", st);
	printf("parent's pages: %c%c\n", pg[0], pg[4096]);

	/* 12. MAP_SHARED anonymous memory stays shared across fork: data, and
	 * a process-shared semaphore (a futex on the shared page). */
	struct shm { sem_t sem; int value; } *shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
							  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sem_init(&shm->sem, 1, 0);
	shm->value = 1;
	if ((pid = fork()) == 0) {
		shm->value = 42;
		sem_post(&shm->sem);
		_exit(0);
	}
	sem_wait(&shm->sem);
	printf("shared memory after the child's post: %d\n", shm->value);
	waitpid(pid, &st, 0);
	munmap(shm, 4096);
	printf("done\n");
	return 0;
}
