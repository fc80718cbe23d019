/* check.h: the unit tests' CHECK — counts checks, and reports a failing one with its place, its condition and an optional printf-style message. */
#ifndef PDVM_TEST_CHECK_H
#define PDVM_TEST_CHECK_H

#include <stdio.h>

static int failures, checks;

/* CHECK(cond) or CHECK(cond, "fmt", args...): the format must be a literal. */
#define CHECK(cond, ...) do {							\
	checks++;								\
	if (!(cond)) {								\
		failures++;							\
		printf("FAIL %s:%d: %s:", __FILE__, __LINE__, #cond);		\
		printf(" " __VA_ARGS__);					\
		putchar('\n');							\
	}									\
} while (0)

#endif
