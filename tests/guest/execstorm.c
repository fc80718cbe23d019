/* execstorm.c: execs while other threads are in system calls, then makes new threads — their vCPUs come from the killed threads' pool and must start clean. */
#include "guest.h"

#include <pthread.h>
#include <sys/syscall.h>

static void *spin(void *arg)
{
	(void)arg;
	for (;;)
		syscall(SYS_getppid);
	return NULL;
}

static void *brief(void *arg)
{
	for (int i = 0; i < 100; i++)
		syscall(SYS_getpid);
	return arg;
}

int main(int argc, char **argv)
{
	int left = argc > 1 ? atoi(argv[1]) : 200;
	pthread_t t[4];
	char n[16];

	/* New threads on vCPUs of threads the last exec killed. */
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, brief, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	if (left == 0) {
		printf("ok\n");
		return 0;
	}
	/* Threads busy trapping, killed by the exec at any point of a trap. */
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, spin, NULL);
	usleep(200);
	snprintf(n, sizeof(n), "%d", left - 1);
	execl("/proc/self/exe", argv[0], n, (char *)NULL);
	perror("execl");
	return 1;
}
