/* clockgap.c: sleeps in short steps and reports the largest CLOCK_MONOTONIC step seen and how far CLOCK_REALTIME moved — a restored domain must show no monotonic jump over the time it spent stopped. */
#include "guest.h"

/* Usage: clockgap STEPS STEP_MS. Prints "ready" first, then at the end
 * "maxgap_ms M" (largest monotonic step) and "realtime_s R" (realtime
 * elapsed over the run, which does include time spent stopped). */
static double now(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int steps = argc > 1 ? atoi(argv[1]) : 100;
	int ms = argc > 2 ? atoi(argv[2]) : 20;
	struct timespec d = { ms / 1000, (long)(ms % 1000) * 1000000L };
	double r0 = now(CLOCK_REALTIME), prev = now(CLOCK_MONOTONIC), maxgap = 0;
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < steps; i++) {
		nanosleep(&d, NULL);
		double t = now(CLOCK_MONOTONIC);
		if (t < prev) {
			printf("monotonic went backwards by %.6f s\n", prev - t);
			return 1;
		}
		if (t - prev > maxgap)
			maxgap = t - prev;
		prev = t;
	}
	printf("maxgap_ms %.0f\nrealtime_s %.1f\n", maxgap * 1000, now(CLOCK_REALTIME) - r0);
	return 0;
}
