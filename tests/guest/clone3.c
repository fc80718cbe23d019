/* clone3.c: clone3's argument checks, a process it makes with its own stack and CLONE_CLEAR_SIGHAND, and glibc's threads and posix_spawn through it; guest_programs.sh compares the output with native. */
#include "guest.h"

#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>

extern char **environ;

static long clone3_raw(struct clone_args *a, size_t size)
{
	return syscall(SYS_clone3, a, size);
}

static void on_usr1(int s) { (void)s; }
static void *thread_fn(void *a) { return a; }

int main(void)
{
	unsigned char big[4200] = { 0 };
	struct clone_args *a = (struct clone_args *)big;
	static char stack[64 * 1024];
	int st;

	/* Checks, in clone3's order. */
	show("size below version 0", clone3_raw(a, 56));
	show("size above a page", clone3_raw(a, 4097));
	big[100] = 1;
	show("unknown nonzero tail", clone3_raw(a, 200));
	big[100] = 0;
	a->flags = CLONE_SIGHAND | CLONE_VM | CLONE_CLEAR_SIGHAND;
	show("clear and share handlers", clone3_raw(a, sizeof(*a)));
	a->flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
	a->exit_signal = SIGCHLD;
	show("thread with exit signal", clone3_raw(a, sizeof(*a)));
	memset(a, 0, sizeof(*a));
	a->stack = (uint64_t)(uintptr_t)stack;
	show("stack without size", clone3_raw(a, sizeof(*a)));
	memset(a, 0, sizeof(*a));
	a->flags = SIGCHLD;
	show("signal in flags", clone3_raw(a, sizeof(*a)));
	pid_t want = 12345;
	memset(a, 0, sizeof(*a));
	a->set_tid = (uint64_t)(uintptr_t)&want;
	a->set_tid_size = 1;
	a->exit_signal = SIGCHLD;
	fflush(stdout);
	long r = clone3_raw(a, sizeof(*a));
	if (r == 0)
		_exit(0); /* root may choose pids */
	if (r > 0)
		waitpid((pid_t)r, &st, 0);
	show("set_tid unprivileged", r > 0 ? 0 : r);

	/* A process with CLONE_CLEAR_SIGHAND: the handler is gone, the
	 * ignored signal stays ignored. */
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, SIG_IGN);
	memset(a, 0, sizeof(*a));
	a->flags = CLONE_CLEAR_SIGHAND;
	a->exit_signal = SIGCHLD;
	fflush(stdout);
	r = clone3_raw(a, sizeof(*a));
	if (r == 0) {
		struct sigaction s1, s2;
		sigaction(SIGUSR1, NULL, &s1);
		sigaction(SIGUSR2, NULL, &s2);
		_exit((s1.sa_handler == SIG_DFL ? 1 : 0) | (s2.sa_handler == SIG_IGN ? 2 : 0));
	}
	waitpid((pid_t)r, &st, 0);
	show("child: usr1 default, usr2 ignored (3)", WEXITSTATUS(st));

	/* glibc's own uses: threads and posix_spawn. */
	pthread_t th;
	void *ret;
	pthread_create(&th, NULL, thread_fn, (void *)42);
	pthread_join(th, &ret);
	show("thread returned", (long)ret);
	pid_t pid;
	char *argv[] = { "sh", "-c", "exit 7", NULL };
	posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ);
	waitpid(pid, &st, 0);
	show("spawned shell's status", WEXITSTATUS(st));
	return 0;
}
