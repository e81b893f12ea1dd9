// obx_open/obx_encode/obx_close: lossless perfect JPEG transforms in the
// DCT domain (transform.c), optionally encoded in strips on several
// threads. Operations are numbered as the EXIF orientation they undo.
#ifndef OBSCURA_TRANSFORM_H
#define OBSCURA_TRANSFORM_H

enum {
	OBX_FLIP_H = 2,
	OBX_ROT_180 = 3,
	OBX_FLIP_V = 4,
	OBX_TRANSPOSE = 5,
	OBX_ROT_90 = 6,
	OBX_TRANSVERSE = 7,
	OBX_ROT_270 = 8,
};

struct obx_job;

// obx_open decodes buf's coefficients for transform op and plans up to
// strips strips (one unless the destination has at least minPixels). It
// returns 0 and *job on success, 1 when the transform would not be
// perfect, -1 on error (errbuf holds the reason).
int obx_open(const unsigned char *buf, unsigned long size, int op, int strips, unsigned long minPixels,
		struct obx_job **job, char *errbuf, int errlen);

// obx_strips is the number of strips job is encoded in.
int obx_strips(const struct obx_job *job);

// obx_encode writes strip (0 ≤ strip < obx_strips) as a JPEG of its own
// into dst (capacity dstCap) or, if it does not fit, into a buffer it
// mallocs; *out is the one used. Distinct strips of one job may be encoded
// at the same time on different threads. It returns 0 on success, -1 on
// error.
int obx_encode(const struct obx_job *job, int strip, unsigned char *dst, unsigned long dstCap,
		unsigned char **out, unsigned long *outSize, char *errbuf, int errlen);

// obx_close frees job (NULL is allowed).
void obx_close(struct obx_job *job);

#endif
