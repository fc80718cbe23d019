/* lazy.h: lazy restore — guest memory filled from the image on first touch (userfaultfd) and in the background. */
#ifndef PDVM_LAZY_H
#define PDVM_LAZY_H

#include <stddef.h>

struct domain;
struct img_reader;

/* Registers guest memory (all holes) with userfaultfd and starts the thread
 * that fills it from the images (imgs[0] the top, imgs[n-1] the base):
 * 2 MiB chunk by chunk on faults, and every chunk in the background. 0 or
 * -1 with err. */
int lazy_start(struct domain *d, struct img_reader *imgs, int n, char *err, size_t errlen);
/* Blocks until every chunk is loaded (a snapshot needs all of memory). */
void lazy_wait(void);
/* Stops the fill thread and frees it (domain teardown). */
void lazy_stop(struct domain *d);

#endif
