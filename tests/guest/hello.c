/* hello.c: the smallest useful static program: prints a greeting (startup benchmark and smoke test). */
#include "guest.h"

int main(int argc, char **argv)
{
	printf("hello from %s\n", argc > 0 ? argv[0] : "?");
	return 0;
}
