/* dynlib.c: a dynamically linked program exercising what ld.so and libc set up — TLS, dlopen, libm, threads, stdio, environment. */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static __thread int tls_counter = 7;     /* initial-exec TLS from the main program */
static int results[4];

static void *worker(void *arg)
{
	int id = (int)(long)arg;

	tls_counter += id;                   /* each thread has its own copy */
	results[id] = tls_counter;
	return NULL;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int main(int argc, char **argv)
{
	pthread_t th[4];
	int v[8] = { 5, 3, 9, 1, 7, 2, 8, 6 };

	printf("argc=%d argv1=%s\n", argc, argc > 1 ? argv[1] : "-");
	printf("env DYNTEST=%s\n", getenv("DYNTEST") ? getenv("DYNTEST") : "(unset)");

	for (long i = 0; i < 4; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i)) {
			printf("pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	printf("tls main=%d threads=%d,%d,%d,%d\n", tls_counter, results[0], results[1],
	       results[2], results[3]);

	qsort(v, 8, sizeof(v[0]), cmp_int);
	printf("sorted:");
	for (int i = 0; i < 8; i++)
		printf(" %d", v[i]);
	printf("\n");

	/* libm through dlopen: the loader maps a library after start-up. */
	void *h = dlopen("libm.so.6", RTLD_NOW);
	if (!h) {
		printf("dlopen: %s\n", dlerror());
		return 1;
	}
	double (*cbrt_p)(double) = (double (*)(double))dlsym(h, "cbrt");
	printf("dlsym cbrt=%s cbrt(27)=%.3f sqrt(2)=%.6f\n", cbrt_p ? "found" : "missing",
	       cbrt_p ? cbrt_p(27.0) : 0.0, sqrt(2.0));
	dlclose(h);

	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("monotonic non-decreasing: %s\n",
	       (b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec)) ? "yes" : "no");

	char *s = strdup("heap string");
	printf("%s %zu\n", s, strlen(s));
	free(s);
	return 5;
}
