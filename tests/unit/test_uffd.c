/* test_uffd.c: guest memory taken out of userfaultfd while threads touch its holes (snapshot/uffd.c) — no toucher is left asleep in the kernel once the filler is gone. */
#include <errno.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "snapshot/uffd.h"
#include "vmm/frames.h"
#include "check.h"

/* The race this guards (found as a post-copied domain hung at its first
 * exec, commit "uffd: wake the range once more"): the kernel wakes a
 * range's waiters when it unregisters it, before the memory leaves
 * userfaultfd, and a touch can start waiting in between. With the filler
 * gone, nothing wakes it. Without the second wake in
 * uffd_unregister_frames, this test's touchers stuck in every one of 7 runs
 * on the PVM host, at round 4 to 249; with it, none in 2,000 (a round
 * takes ~9 ms). Each round fills memory for 2 ms, unregisters, stops the
 * filler and then wants every toucher to go on. */
#define ROUNDS 1000
#define TOUCHERS 2
#define MEM (64ull << 20)

static struct frames fr;
static int uffd;
static atomic_bool filler_stop, touch_stop;
static atomic_ulong touches[TOUCHERS];

/* The post-copy thread's part: each touch of a hole gets a zero page. */
static void *filler(void *arg)
{
	(void)arg;
	struct pollfd p = { uffd, POLLIN, 0 };
	while (!atomic_load(&filler_stop)) {
		struct uffd_msg m;
		if (poll(&p, 1, 1) <= 0 || read(uffd, &m, sizeof(m)) != sizeof(m) ||
		    m.event != UFFD_EVENT_PAGEFAULT)
			continue;
		uint64_t off = (m.arg.pagefault.address & ~4095ull) - (uint64_t)(uintptr_t)fr.host;
		uffd_zero_or_wake(uffd, &fr, off);
	}
	return NULL;
}

/* The domain's part: reads of pages all over memory, most of them holes. */
static void *toucher(void *arg)
{
	uintptr_t i = (uintptr_t)arg;
	uint32_t s = (uint32_t)i * 7919u + 1;
	while (!atomic_load(&touch_stop)) {
		s = s * 1103515245u + 12345u;
		(void)*(volatile uint8_t *)(fr.host + (uint64_t)(s >> 8) % (MEM / 4096) * 4096);
		atomic_fetch_add(&touches[i], 1);
	}
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, ms % 1000 * 1000000 };
	nanosleep(&t, NULL);
}

/* Every toucher goes on within 5 s (a slow host's scheduling, not a hang). */
static bool all_go_on(void)
{
	unsigned long before[TOUCHERS];
	for (int i = 0; i < TOUCHERS; i++)
		before[i] = atomic_load(&touches[i]);
	for (int ms = 0; ms < 5000; ms += 2) {
		bool all = true;
		for (int i = 0; i < TOUCHERS; i++)
			all = all && atomic_load(&touches[i]) != before[i];
		if (all)
			return true;
		sleep_ms(2);
	}
	return false;
}

int main(void)
{
	int stuck = -1;
	for (int round = 0; round < ROUNDS && stuck < 0; round++) {
		if (frames_init(&fr, MEM, MEM) < 0) {
			printf("no guest memory: %s\n", strerror(errno));
			return 1;
		}
		uffd = uffd_register_frames(&fr);
		if (uffd < 0) {
			/* A kernel without userfaultfd for shared memory (or
			 * forbidding it): post-copy and lazy restore cannot run
			 * there either. */
			printf("SKIP: userfaultfd: %s\n", strerror(-uffd));
			frames_destroy(&fr);
			return 77;
		}
		atomic_store(&filler_stop, false);
		atomic_store(&touch_stop, false);
		pthread_t fl, t[TOUCHERS];
		CHECK(pthread_create(&fl, NULL, filler, NULL) == 0);
		for (uintptr_t i = 0; i < TOUCHERS; i++)
			CHECK(pthread_create(&t[i], NULL, toucher, (void *)i) == 0);
		sleep_ms(2);
		CHECK(uffd_unregister_frames(uffd, &fr));
		atomic_store(&filler_stop, true);
		pthread_join(fl, NULL);
		if (!all_go_on()) {
			stuck = round;
			/* Let the touchers out so that the test ends: the fd's
			 * release wakes whoever still waits on it. */
			atomic_store(&touch_stop, true);
			close(uffd);
			uffd = -1;
		}
		atomic_store(&touch_stop, true);
		for (int i = 0; i < TOUCHERS; i++)
			pthread_join(t[i], NULL);
		if (uffd >= 0)
			close(uffd);
		frames_destroy(&fr);
	}
	CHECK(stuck < 0, "a toucher still asleep in the kernel 5 s after round %d unregistered memory", stuck);
	printf("%d rounds; %d checks, %d failed\n", ROUNDS, checks, failures);
	return failures ? 1 : 0;
}
