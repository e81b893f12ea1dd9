// Lossless JPEG rotation and flipping in the DCT domain, for perfect
// transforms only (what `jpegtran -perfect -copy none` does, and what
// libjpeg-turbo's tjTransform with TJXOPT_PERFECT | TJXOPT_COPYNONE does:
// the output is byte for byte the same, see TestTransformMatchesTurboJPEG).
//
// Why not tjTransform itself: its block loop (transupp.c) walks the source
// column-wise for the transposing transforms (orientations 5–8, i.e. the
// common sideways phone photo), one block from each row of blocks in turn,
// and transposes each 8×8 block coefficient by coefficient; on a 12 MP
// photo that loop was 40% of the transform's CPU time. Here the blocks are
// visited in tiles, so reads and writes stay within a few rows of blocks,
// and each block is transposed with SSE2 shuffles.
//
// Same safety as tjTransform's flags: the decoder stops at the first
// warning (corrupt data) and after 500 progressive scans; errors longjmp
// back here instead of exiting.

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "transform.h"

struct obx_err {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	char msg[JMSG_LENGTH_MAX];
};

static void obx_error_exit(j_common_ptr c) {
	struct obx_err *e = (struct obx_err *)c->err;
	(*c->err->format_message)(c, e->msg);
	longjmp(e->jb, 1);
}

// Warnings (corrupt entropy data and the like) are errors.
static void obx_emit_message(j_common_ptr c, int level) {
	if (level < 0) obx_error_exit(c);
}

static void obx_output_message(j_common_ptr c) { (void)c; }

// At most 500 scans, as TJFLAG_LIMITSCANS (a progressive JPEG can carry
// enough scans to make decoding quadratic).
static void obx_progress(j_common_ptr c) {
	j_decompress_ptr d = (j_decompress_ptr)c;
	if (d->is_decompressor && d->input_scan_number > 500) {
		struct obx_err *e = (struct obx_err *)c->err;
		snprintf(e->msg, sizeof e->msg, "progressive JPEG image has more than 500 scans");
		longjmp(e->jb, 1);
	}
}

// transposes reports whether op swaps the axes.
static int transposes(int op) { return op >= OBX_TRANSPOSE; }

// Sign of each coefficient of a destination block, indexed [row][col]
// (vertical, horizontal frequency): mirroring an axis negates its odd
// frequencies.
static void signs(int op, JCOEF s[DCTSIZE2]) {
	for (int r = 0; r < DCTSIZE; r++) {
		for (int c = 0; c < DCTSIZE; c++) {
			int neg = 0;
			switch (op) {
			case OBX_FLIP_H: neg = c & 1; break;
			case OBX_ROT_180: neg = (r + c) & 1; break;
			case OBX_FLIP_V: neg = r & 1; break;
			case OBX_TRANSPOSE: neg = 0; break;
			case OBX_ROT_90: neg = c & 1; break;
			case OBX_TRANSVERSE: neg = (r + c) & 1; break;
			case OBX_ROT_270: neg = r & 1; break;
			}
			s[r * DCTSIZE + c] = neg ? -1 : 1;
		}
	}
}

// block transforms one block: dst = (transposed) src × sign.
static inline void block(JCOEF *restrict dst, const JCOEF *restrict src, const JCOEF *restrict sg, int transpose) {
#ifdef __SSE2__
	__m128i r[8];
	for (int i = 0; i < 8; i++) r[i] = _mm_loadu_si128((const __m128i *)(src + 8 * i));
	if (transpose) {
		__m128i a0 = _mm_unpacklo_epi16(r[0], r[1]), a1 = _mm_unpackhi_epi16(r[0], r[1]);
		__m128i a2 = _mm_unpacklo_epi16(r[2], r[3]), a3 = _mm_unpackhi_epi16(r[2], r[3]);
		__m128i a4 = _mm_unpacklo_epi16(r[4], r[5]), a5 = _mm_unpackhi_epi16(r[4], r[5]);
		__m128i a6 = _mm_unpacklo_epi16(r[6], r[7]), a7 = _mm_unpackhi_epi16(r[6], r[7]);
		__m128i b0 = _mm_unpacklo_epi32(a0, a2), b1 = _mm_unpackhi_epi32(a0, a2);
		__m128i b2 = _mm_unpacklo_epi32(a1, a3), b3 = _mm_unpackhi_epi32(a1, a3);
		__m128i b4 = _mm_unpacklo_epi32(a4, a6), b5 = _mm_unpackhi_epi32(a4, a6);
		__m128i b6 = _mm_unpacklo_epi32(a5, a7), b7 = _mm_unpackhi_epi32(a5, a7);
		r[0] = _mm_unpacklo_epi64(b0, b4);
		r[1] = _mm_unpackhi_epi64(b0, b4);
		r[2] = _mm_unpacklo_epi64(b1, b5);
		r[3] = _mm_unpackhi_epi64(b1, b5);
		r[4] = _mm_unpacklo_epi64(b2, b6);
		r[5] = _mm_unpackhi_epi64(b2, b6);
		r[6] = _mm_unpacklo_epi64(b3, b7);
		r[7] = _mm_unpackhi_epi64(b3, b7);
	}
	// Streaming stores: the destination arrays are far larger than the
	// caches, so reading each line in before overwriting it whole only
	// costs memory bandwidth (it was most of this loop's time).
	if (((uintptr_t)dst & 15) == 0) {
		for (int i = 0; i < 8; i++)
			_mm_stream_si128((__m128i *)(dst + 8 * i), _mm_mullo_epi16(r[i], _mm_loadu_si128((const __m128i *)(sg + 8 * i))));
	} else {
		for (int i = 0; i < 8; i++)
			_mm_storeu_si128((__m128i *)(dst + 8 * i), _mm_mullo_epi16(r[i], _mm_loadu_si128((const __m128i *)(sg + 8 * i))));
	}
#else
	for (int i = 0; i < DCTSIZE; i++)
		for (int j = 0; j < DCTSIZE; j++)
			dst[i * DCTSIZE + j] = (JCOEF)((transpose ? src[j * DCTSIZE + i] : src[i * DCTSIZE + j]) * sg[i * DCTSIZE + j]);
#endif
}

// Tile side in blocks: a tile of destination rows reads a run of
// consecutive blocks from each source row it touches.
#define TILE 8

// component transforms one component: dst block (by, bx) is the source
// block the orientation maps to it (sw × sh source blocks along the
// mirrored axes), for dw × dh destination blocks.
static void component(int op, JBLOCKROW *srow, JBLOCKROW *drow, JDIMENSION sw, JDIMENSION sh, JDIMENSION dw, JDIMENSION dh) {
	JCOEF sg[DCTSIZE2];
	signs(op, sg);
	int tr = transposes(op);
	for (JDIMENSION by0 = 0; by0 < dh; by0 += TILE) {
		JDIMENSION by1 = by0 + TILE < dh ? by0 + TILE : dh;
		for (JDIMENSION bx0 = 0; bx0 < dw; bx0 += TILE) {
			JDIMENSION bx1 = bx0 + TILE < dw ? bx0 + TILE : dw;
			for (JDIMENSION by = by0; by < by1; by++) {
				for (JDIMENSION bx = bx0; bx < bx1; bx++) {
					JDIMENSION y, x; // source block
					switch (op) {
					case OBX_FLIP_H: y = by, x = sw - 1 - bx; break;
					case OBX_ROT_180: y = sh - 1 - by, x = sw - 1 - bx; break;
					case OBX_FLIP_V: y = sh - 1 - by, x = bx; break;
					case OBX_TRANSPOSE: y = bx, x = by; break;
					case OBX_ROT_90: y = sh - 1 - bx, x = by; break;
					case OBX_TRANSVERSE: y = sh - 1 - bx, x = sw - 1 - by; break;
					default: y = bx, x = sw - 1 - by; break; // OBX_ROT_270
					}
					block(drow[by][bx], srow[y][x], sg, tr);
				}
			}
		}
	}
}

// perfect reports whether op moves no partial iMCU along a mirrored axis
// (jtransform_perfect_transform).
static int perfect(j_decompress_ptr d, int op) {
	JDIMENSION mw = (JDIMENSION)d->max_h_samp_factor * DCTSIZE, mh = (JDIMENSION)d->max_v_samp_factor * DCTSIZE;
	int wok = d->image_width % mw == 0, hok = d->image_height % mh == 0;
	switch (op) {
	case OBX_FLIP_H:
	case OBX_ROT_270:
		return wok;
	case OBX_FLIP_V:
	case OBX_ROT_90:
		return hok;
	case OBX_ROT_180:
	case OBX_TRANSVERSE:
		return wok && hok;
	}
	return 1;
}

static JDIMENSION roundup(JDIMENSION a, JDIMENSION b) { return (a + b - 1) / b * b; }

// state is what the error path needs after a longjmp (kept in memory).
struct state {
	struct jpeg_decompress_struct d;
	struct jpeg_compress_struct c;
	int dinit, cinit;
	unsigned char *out;
	unsigned long outSize;
	JBLOCKROW *rows;
};

static void cleanup(struct state *s) {
	free(s->rows);
	if (s->cinit) jpeg_destroy_compress(&s->c);
	if (s->dinit) jpeg_destroy_decompress(&s->d);
}

int obx_transform(const unsigned char *buf, unsigned long size, int op, unsigned char *dst, unsigned long dstCap,
		unsigned char **out, unsigned long *outSize, char *errbuf, int errlen) {
	struct state *s = calloc(1, sizeof *s);
	struct obx_err e;
	struct jpeg_progress_mgr prog;
	if (s == NULL) return -1;
	*out = NULL;
	*outSize = 0;
	s->d.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = obx_error_exit;
	e.pub.emit_message = obx_emit_message;
	e.pub.output_message = obx_output_message;
	e.msg[0] = 0;
	s->c.err = &e.pub;
	if (setjmp(e.jb)) {
		snprintf(errbuf, errlen, "%s", e.msg);
		if (s->out != NULL && s->out != dst) free(s->out);
		cleanup(s);
		free(s);
		return -1;
	}
	jpeg_create_decompress(&s->d);
	s->dinit = 1;
	memset(&prog, 0, sizeof prog);
	prog.progress_monitor = obx_progress;
	s->d.progress = &prog;
	jpeg_mem_src(&s->d, buf, size);
	jpeg_read_header(&s->d, TRUE);
	if (!perfect(&s->d, op)) {
		snprintf(errbuf, errlen, "partial MCU blocks on a mirrored edge");
		cleanup(s);
		free(s);
		return 1;
	}
	int nc = s->d.num_components, tr = transposes(op);
	// The destination arrays, from the decoder's pool so that reading the
	// coefficients realizes them too (as transupp's workspace).
	jvirt_barray_ptr darr[MAX_COMPONENTS];
	JDIMENSION drows[MAX_COMPONENTS], srows[MAX_COMPONENTS];
	size_t total = 0;
	for (int ci = 0; ci < nc; ci++) {
		jpeg_component_info *k = &s->d.comp_info[ci];
		JDIMENSION w = roundup(k->width_in_blocks, k->h_samp_factor), h = roundup(k->height_in_blocks, k->v_samp_factor);
		srows[ci] = h;
		drows[ci] = tr ? w : h;
		darr[ci] = (*s->d.mem->request_virt_barray)((j_common_ptr)&s->d, JPOOL_IMAGE, FALSE,
			tr ? h : w, tr ? w : h, (JDIMENSION)(tr ? k->h_samp_factor : k->v_samp_factor));
		total += srows[ci] + drows[ci];
	}
	jvirt_barray_ptr *sarr = jpeg_read_coefficients(&s->d);
	jpeg_create_compress(&s->c);
	s->cinit = 1;
	jpeg_copy_critical_parameters(&s->d, &s->c);
	if (tr) { // transpose_critical_parameters
		JDIMENSION t = s->c.image_width;
		s->c.image_width = s->c.image_height;
		s->c.image_height = t;
		for (int ci = 0; ci < nc; ci++) {
			jpeg_component_info *k = &s->c.comp_info[ci];
			int hs = k->h_samp_factor;
			k->h_samp_factor = k->v_samp_factor;
			k->v_samp_factor = hs;
		}
		for (int q = 0; q < NUM_QUANT_TBLS; q++) {
			JQUANT_TBL *qt = s->c.quant_tbl_ptrs[q];
			if (qt == NULL) continue;
			for (int i = 0; i < DCTSIZE; i++)
				for (int j = 0; j < i; j++) {
					UINT16 v = qt->quantval[i * DCTSIZE + j];
					qt->quantval[i * DCTSIZE + j] = qt->quantval[j * DCTSIZE + i];
					qt->quantval[j * DCTSIZE + i] = v;
				}
		}
	}
	// Output straight into the caller's buffer; libjpeg allocates a larger
	// one only if it does not fit.
	s->out = dst;
	s->outSize = dstCap;
	jpeg_mem_dest(&s->c, &s->out, &s->outSize);
	jpeg_write_coefficients(&s->c, darr);
	// Every row of every array is in memory (libjpeg-turbo has no backing
	// store), so the row pointers stay valid; destination rows are visited
	// once, in order, writable, as the memory manager requires.
	s->rows = malloc(total * sizeof(JBLOCKROW));
	if (s->rows == NULL) {
		snprintf(e.msg, sizeof e.msg, "out of memory");
		longjmp(e.jb, 1);
	}
	JBLOCKROW *next = s->rows;
	for (int ci = 0; ci < nc; ci++) {
		JBLOCKROW *sr = next, *dr = next + srows[ci];
		next = dr + drows[ci];
		for (JDIMENSION r = 0; r < srows[ci]; r++)
			sr[r] = (*s->d.mem->access_virt_barray)((j_common_ptr)&s->d, sarr[ci], r, 1, FALSE)[0];
		for (JDIMENSION r = 0; r < drows[ci]; r++)
			dr[r] = (*s->d.mem->access_virt_barray)((j_common_ptr)&s->d, darr[ci], r, 1, TRUE)[0];
		jpeg_component_info *sk = &s->d.comp_info[ci], *dk = &s->c.comp_info[ci];
		component(op, sr, dr, sk->width_in_blocks, sk->height_in_blocks, dk->width_in_blocks, dk->height_in_blocks);
	}
#ifdef __SSE2__
	_mm_sfence(); // the streaming stores are visible before the encoder reads
#endif
	jpeg_finish_compress(&s->c);
	*out = s->out;
	*outSize = s->outSize;
	s->out = NULL; // the caller's now
	cleanup(s);
	free(s);
	return 0;
}
