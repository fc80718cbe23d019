/* rrinputs.c: a program whose output is all input from outside — clocks, random bytes, its pid, a file it reads, a pipe round trip, a self-sent signal, a sleep, memory it fills from them — so every run differs, and a replay must print the recording's. */
#include "guest.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>

static volatile sig_atomic_t got;

static void on_usr1(int sig)
{
	got = sig;
}

int main(int argc, char **argv)
{
	struct timespec ts, mono;
	struct timeval tv;
	uint8_t rnd[8];
	char buf[64];
	int p[2];

	clock_gettime(CLOCK_REALTIME, &ts);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	gettimeofday(&tv, NULL);
	printf("realtime %lld.%09ld monotonic %lld.%09ld tv %lld\n", (long long)ts.tv_sec, ts.tv_nsec,
	       (long long)mono.tv_sec, mono.tv_nsec, (long long)tv.tv_usec);
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return 10;
	printf("getrandom %02x%02x%02x%02x%02x%02x%02x%02x\n", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
	       rnd[6], rnd[7]);
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, rnd, 4) != 4)
		return 11;
	close(fd);
	printf("urandom %02x%02x%02x%02x pid %d\n", rnd[0], rnd[1], rnd[2], rnd[3], (int)getpid());
	fd = open("/proc/uptime", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 12;
	buf[n] = 0;
	close(fd);
	printf("uptime %s", buf);
	if (pipe(p) || write(p[1], rnd, 4) != 4 || read(p[0], buf, 4) != 4 || memcmp(buf, rnd, 4))
		return 13;
	close(p[0]);
	close(p[1]);
	signal(SIGUSR1, on_usr1);
	kill(getpid(), SIGUSR1);
	struct timespec nap = { 0, 1000000 * (rnd[0] % 20) };
	nanosleep(&nap, NULL);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("signal %d slept %lld ns\n", (int)got,
	       (long long)(ts.tv_sec - mono.tv_sec) * 1000000000LL + ts.tv_nsec - mono.tv_nsec);
	/* Memory from the inputs: the exit check must find it equal. */
	size_t len = 1 << 20;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 14;
	for (size_t i = 0; i < len; i += 61)
		m[i] = (uint8_t)(rnd[i % 4] ^ ts.tv_nsec ^ i);
	struct stat st;
	if (stat(argc > 1 ? argv[1] : "/", &st) == 0)
		printf("mtime %lld\n", (long long)st.st_mtime);
	fflush(stdout);
	return 3;
}
