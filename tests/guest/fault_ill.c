/* fault_ill.c: executes ud2; must die by SIGILL (exit 132 in pdvm). */
#include "guest.h"

int main(void)
{
	printf("about to execute ud2\n");
	fflush(stdout);
	__asm__ volatile("ud2");
	printf("not ok - survived ud2\n");
	return 1;
}
