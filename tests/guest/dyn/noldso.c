/* noldso.c: linked with a dynamic loader that does not exist; running it must fail like execve (ENOENT). */
#include <stdio.h>

int main(void)
{
	puts("must not run");
	return 0;
}
