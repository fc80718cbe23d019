/* types.h: small shared definitions used across the VMM. */
#ifndef PDVM_TYPES_H
#define PDVM_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t gva_t; /* guest virtual address */
typedef uint64_t gpa_t; /* guest physical address */

#define PAGE_SIZE	4096UL
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define HPAGE_SIZE	(2UL << 20)
#define HPAGE_MASK	(~(HPAGE_SIZE - 1))
#define PAGE_ALIGN(x)	(((x) + PAGE_SIZE - 1) & PAGE_MASK)

/* Guest user address space: [USER_MIN, USER_MAX) like x86-64 Linux 4-level. */
#define USER_MIN	0x10000UL
#define USER_MAX	0x7ffffffff000UL

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define MAX(a, b)	((a) > (b) ? (a) : (b))

#endif
