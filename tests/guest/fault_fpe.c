/* fault_fpe.c: integer division by zero; must die by SIGFPE (exit 136 in pdvm). */
#include "guest.h"

int main(int argc, char **argv)
{
	volatile int zero = argc - 1; /* 0 unless arguments are given: the compiler cannot fold it */
	volatile int n = 42;

	(void)argv;
	printf("about to divide by zero\n");
	fflush(stdout);
	int q = n / zero;
	printf("not ok - survived a division by zero (%d)\n", q);
	return 1;
}
