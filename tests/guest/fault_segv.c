/* fault_segv.c: writes to an unmapped address (0x1000); must die by SIGSEGV (exit 139 in pdvm). */
#include "guest.h"

int main(void)
{
	printf("about to write to 0x1000\n");
	fflush(stdout);
	*(volatile int *)0x1000 = 1;
	printf("not ok - survived a write to 0x1000\n");
	return 1;
}
