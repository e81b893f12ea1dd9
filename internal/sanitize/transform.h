// obx_transform: lossless perfect JPEG transforms in the DCT domain
// (transform.c). Operations are numbered as the EXIF orientation they undo.
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

// obx_transform writes the transformed JPEG into dst (capacity dstCap) or,
// if it does not fit, into a buffer it mallocs; *out is the one used. It
// returns 0 on success, 1 when the transform would not be perfect, -1 on
// error (errbuf holds the reason).
int obx_transform(const unsigned char *buf, unsigned long size, int op, unsigned char *dst, unsigned long dstCap,
		unsigned char **out, unsigned long *outSize, char *errbuf, int errlen);

#endif
