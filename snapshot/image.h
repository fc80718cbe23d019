/* image.h: the snapshot image directory — manifest, checksummed section files, atomic replacement. */
#ifndef PDVM_IMAGE_H
#define PDVM_IMAGE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/status.h"

#define IMG_FORMAT      "pdvm-image"
/* 2: each section entry says its version and whether a reader must know
 * it; 1 (read still): neither, every section's version only in its body. */
#define IMG_VERSION     2
#define IMG_MIN_VERSION 1
#define IMG_ARCH        "x86_64"
#define IMG_MANIFEST    "manifest.json"
#define IMG_MAX_SECTIONS 16
#define IMG_ID_LEN      32              /* hex characters */

struct img_section {
	char name[32];
	char file[64];
	uint64_t size;
	uint32_t crc;
	uint32_t version;       /* 0: not stated (a format-1 manifest) */
	bool required;          /* a reader that does not know it must refuse the image */
};

struct img_writer {
	char dir[PATH_MAX];     /* final place */
	char tmp[PATH_MAX];     /* where it is written */
	int dirfd;              /* of tmp */
	struct img_section sec[IMG_MAX_SECTIONS];
	int nsec;
	char id[IMG_ID_LEN + 1];
	bool nosync;            /* no fsync: an image read back at once and thrown
				 * away (a migration's), where durability buys nothing */
};

/* What the manifest says beyond its sections. */
struct img_meta {
	int format;                       /* the manifest's version (reading) */
	char id[IMG_ID_LEN + 1];
	char parent_id[IMG_ID_LEN + 1];   /* "" for a full image */
	char parent_dir[PATH_MAX];        /* as written at snapshot time */
	char name[256];
	uint64_t created_ns;              /* CLOCK_REALTIME */
	uint64_t xcr0;                    /* the guest's XSAVE features; 0: not recorded */
};

/* Starts an image that will replace `dir` when committed: a temporary
 * directory beside it. 0 or -errno with the reason in err. */
/* Writes all n bytes to fd (retrying EINTR and short writes): 0 or -errno. */
int img_write_all(int fd, const void *p, size_t n);
int img_begin(struct img_writer *w, const char *dir, char *err, size_t errlen);
/* Writes one section file (synced) and records its size, CRC-32, version
 * and whether it is required. */
int img_put(struct img_writer *w, const char *name, uint32_t version, bool required, const void *data,
	    size_t len, char *err, size_t errlen);
/* Creates a section file for the caller to fill; img_put_done records it. */
int img_create(struct img_writer *w, const char *name, char *err, size_t errlen);
int img_put_done(struct img_writer *w, const char *name, uint32_t version, bool required, int fd,
		 uint64_t size, uint32_t crc, char *err, size_t errlen);
/* Writes the manifest, syncs, and renames the image into place (an
 * existing image there is replaced atomically). */
int img_commit(struct img_writer *w, const struct img_meta *m, char *err, size_t errlen);
/* Removes an image directory (its files, then it). */
void img_remove(const char *path);
/* Removes the temporary directory of an image that will not be committed. */
void img_abort(struct img_writer *w);

struct img_reader {
	char dir[PATH_MAX];
	int dirfd;
	struct img_section sec[IMG_MAX_SECTIONS];
	int nsec;
	struct img_meta meta;
};

/* Opens and validates an image's manifest. 0 or -1 with the reason in err. */
int img_open(struct img_reader *r, const char *dir, char *err, size_t errlen);
void img_close(struct img_reader *r);
/* Reads a whole section, checking size and CRC; *data is malloc'ed.
 * Sections above `max` bytes are refused. */
int img_get(struct img_reader *r, const char *name, size_t max, uint8_t **data, size_t *len,
	    char *err, size_t errlen);
/* Opens a section for the caller (memory); checks only its size. */
int img_open_section(struct img_reader *r, const char *name, uint64_t *size, char *err, size_t errlen);

/* A fresh random image id. */
void img_new_id(char id[IMG_ID_LEN + 1]);
uint32_t img_crc(uint32_t crc, const void *p, size_t n);

#endif
