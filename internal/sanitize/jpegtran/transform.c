// Lossless JPEG rotation and flipping in the DCT domain, for perfect
// transforms only (what `jpegtran -perfect -copy none` does, and what
// libjpeg-turbo's tjTransform with TJXOPT_PERFECT | TJXOPT_COPYNONE does).
// Unsplit, the output is byte for byte tjTransform's (see
// TestTransformMatchesTurboJPEG).
//
// Why not tjTransform itself: its block loop (transupp.c) walks the source
// column-wise for the transposing transforms (orientations 5–8, i.e. the
// common sideways phone photo) into a second set of coefficient arrays as
// large as the source (36 MB for a 12 MP photo), which the encoder then
// reads back. Here the compressor's coefficient controller (the module
// jctrans.c provides, replaced through jpegint.h's interface) transforms
// each block of the MCU it is about to encode straight from the source
// arrays, with SSE2 shuffles, into a buffer that stays in the L1 cache.
//
// Parallel entropy coding: a large picture is cut into strips of whole
// iMCU rows, each encoded by its own compressor (obx_encode, one thread
// each) with the same tables and a restart interval of exactly one strip;
// the caller joins the strips' entropy-coded segments with RSTn markers
// (lossless.go). The result is one baseline JPEG with a DRI segment whose
// decoded coefficients equal the unsplit transform's: each strip's DC
// predictions start from zero and its last byte is padded with 1 bits,
// which is what a restart marker means (ITU-T T.81 Annex F: the DC
// predictions reset at each restart interval, 1-bit padding before a
// marker).
//
// Same safety as tjTransform's flags: the decoder stops at the first
// warning (corrupt data) and after 500 progressive scans; errors longjmp
// back to the call instead of exiting.

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jpegint.h>
#include <jerror.h>
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

// obx_err_init sets e up as an error manager that longjmps on errors and
// warnings and prints nothing.
static struct jpeg_error_mgr *obx_err_init(struct obx_err *e) {
	jpeg_std_error(&e->pub);
	e->pub.error_exit = obx_error_exit;
	e->pub.emit_message = obx_emit_message;
	e->pub.output_message = obx_output_message;
	e->msg[0] = 0;
	return &e->pub;
}

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

// block transforms one block into dst (a buffer in the L1 cache):
// dst = (transposed) src × sign.
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
	for (int i = 0; i < 8; i++)
		_mm_storeu_si128((__m128i *)(dst + 8 * i), _mm_mullo_epi16(r[i], _mm_loadu_si128((const __m128i *)(sg + 8 * i))));
#else
	for (int i = 0; i < DCTSIZE; i++)
		for (int j = 0; j < DCTSIZE; j++)
			dst[i * DCTSIZE + j] = (JCOEF)((transpose ? src[j * DCTSIZE + i] : src[i * DCTSIZE + j]) * sg[i * DCTSIZE + j]);
#endif
}

// source maps destination block (by, bx) of a component to the source
// block the orientation takes it from, for sw × sh source blocks along the
// mirrored axes.
static inline void source(int op, JDIMENSION by, JDIMENSION bx, JDIMENSION sw, JDIMENSION sh, JDIMENSION *y, JDIMENSION *x) {
	switch (op) {
	case OBX_FLIP_H: *y = by, *x = sw - 1 - bx; break;
	case OBX_ROT_180: *y = sh - 1 - by, *x = sw - 1 - bx; break;
	case OBX_FLIP_V: *y = sh - 1 - by, *x = bx; break;
	case OBX_TRANSPOSE: *y = bx, *x = by; break;
	case OBX_ROT_90: *y = sh - 1 - bx, *x = by; break;
	case OBX_TRANSVERSE: *y = sh - 1 - bx, *x = sw - 1 - by; break;
	default: *y = bx, *x = sw - 1 - by; break; // OBX_ROT_270
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

// obx_job is one transform: the source's coefficients, read once by
// obx_open and only read afterwards (so that the strips can be encoded on
// several threads at once), and the plan of strips.
struct obx_job {
	struct jpeg_decompress_struct d;
	struct obx_err e;
	struct jpeg_progress_mgr prog;
	int dinit;
	int op, tr, nc;
	JCOEF sg[DCTSIZE2];
	JBLOCKROW *rows;                  // every source block row, component after component
	JBLOCKROW *srow[MAX_COMPONENTS];  // each component's first row in rows
	JDIMENSION sw[MAX_COMPONENTS], sh[MAX_COMPONENTS]; // source blocks per component
	JDIMENSION height;                // destination height, pixels
	JDIMENSION imcu;                  // destination iMCU row height, pixels
	JDIMENSION total;                 // destination iMCU rows
	JDIMENSION per;                   // iMCU rows per strip
	unsigned int restart;             // MCUs per strip: the restart interval when split
	int strips;
};

void obx_close(struct obx_job *j) {
	if (j == NULL) return;
	free(j->rows);
	if (j->dinit) jpeg_destroy_decompress(&j->d);
	free(j);
}

int obx_strips(const struct obx_job *j) { return j->strips; }

int obx_open(const unsigned char *buf, unsigned long size, int op, int strips, unsigned long minPixels,
		struct obx_job **out, char *errbuf, int errlen) {
	*out = NULL;
	struct obx_job *j = calloc(1, sizeof *j);
	if (j == NULL) return -1;
	j->d.err = obx_err_init(&j->e);
	if (setjmp(j->e.jb)) {
		snprintf(errbuf, errlen, "%s", j->e.msg);
		obx_close(j);
		return -1;
	}
	jpeg_create_decompress(&j->d);
	j->dinit = 1;
	j->prog.progress_monitor = obx_progress;
	j->d.progress = &j->prog;
	jpeg_mem_src(&j->d, buf, size);
	jpeg_read_header(&j->d, TRUE);
	if (!perfect(&j->d, op)) {
		snprintf(errbuf, errlen, "partial MCU blocks on a mirrored edge");
		obx_close(j);
		return 1;
	}
	j->op = op;
	j->tr = transposes(op);
	j->nc = j->d.num_components;
	signs(op, j->sg);
	jvirt_barray_ptr *sarr = jpeg_read_coefficients(&j->d);
	// Every row of every array is in memory (libjpeg-turbo has no backing
	// store), so the row pointers stay valid until the decoder is
	// destroyed.
	size_t total = 0;
	for (int ci = 0; ci < j->nc; ci++) total += j->d.comp_info[ci].height_in_blocks;
	j->rows = malloc((total ? total : 1) * sizeof(JBLOCKROW));
	if (j->rows == NULL) {
		snprintf(j->e.msg, sizeof j->e.msg, "out of memory");
		longjmp(j->e.jb, 1);
	}
	JBLOCKROW *next = j->rows;
	for (int ci = 0; ci < j->nc; ci++) {
		jpeg_component_info *k = &j->d.comp_info[ci];
		j->srow[ci] = next;
		j->sw[ci] = k->width_in_blocks;
		j->sh[ci] = k->height_in_blocks;
		for (JDIMENSION r = 0; r < k->height_in_blocks; r++)
			*next++ = (*j->d.mem->access_virt_barray)((j_common_ptr)&j->d, sarr[ci], r, 1, FALSE)[0];
	}
	// The destination's geometry, and its strips: whole iMCU rows of at
	// most 65535 MCUs each (the restart interval is 16 bits), only when
	// libjpeg writes one scan (at most four components) and the picture is
	// large enough to be worth it.
	JDIMENSION w = j->d.image_width, h = j->d.image_height;
	int maxh = j->d.max_h_samp_factor, maxv = j->d.max_v_samp_factor;
	if (j->tr) {
		JDIMENSION t = w; w = h; h = t;
		int s = maxh; maxh = maxv; maxv = s;
	}
	j->height = h;
	j->imcu = (JDIMENSION)maxv * DCTSIZE;
	j->total = (h + j->imcu - 1) / j->imcu;
	// MCUs per iMCU row: one per block in a single-component scan.
	unsigned long mcus = j->nc == 1 ? (unsigned long)(w + DCTSIZE - 1) / DCTSIZE * (unsigned long)maxv
		: (unsigned long)(w + maxh * DCTSIZE - 1) / ((unsigned long)maxh * DCTSIZE);
	j->strips = 1;
	j->per = j->total;
	if (strips > 1 && j->nc <= MAX_COMPS_IN_SCAN && (unsigned long)w * h >= minPixels && j->total >= 2 && mcus > 0) {
		JDIMENSION per = (j->total + (JDIMENSION)strips - 1) / (JDIMENSION)strips;
		if (per * mcus > 65535) per = (JDIMENSION)(65535 / mcus);
		if (per >= 1) {
			j->per = per;
			j->strips = (int)((j->total + per - 1) / per);
			j->restart = (unsigned int)(per * mcus);
		}
	}
	*out = j;
	return 0;
}

// xcoef is a coefficient controller for the compressor (the role of
// jctrans.c's): instead of reading destination arrays that a separate
// pass filled, it transforms each block of the MCU it is about to encode
// from the source array, into a buffer that stays in the L1 cache. No
// destination arrays (36 MB for a 12 MP photo) are allocated, written,
// faulted in or read back.
struct xcoef {
	struct jpeg_c_coef_controller pub;
	const struct obx_job *j;
	JDIMENSION row0;    // the strip's first iMCU row in the destination
	JDIMENSION iMCU;    // the next iMCU row, within the strip
	int mcuRows;        // MCU rows in this iMCU row
	JBLOCK blk[C_MAX_BLOCKS_IN_MCU];
};

static void xstart_row(j_compress_ptr c) {
	struct xcoef *x = (struct xcoef *)c->coef;
	// In an interleaved scan an MCU row is an iMCU row; otherwise an iMCU
	// row has v_samp_factor MCU rows, fewer at the bottom (as jctrans.c).
	if (c->comps_in_scan > 1)
		x->mcuRows = 1;
	else if (x->iMCU < c->total_iMCU_rows - 1)
		x->mcuRows = c->cur_comp_info[0]->v_samp_factor;
	else
		x->mcuRows = c->cur_comp_info[0]->last_row_height;
}

static void xstart_pass(j_compress_ptr c, J_BUF_MODE mode) {
	if (mode != JBUF_CRANK_DEST) ERREXIT(c, JERR_BAD_BUFFER_MODE);
	((struct xcoef *)c->coef)->iMCU = 0;
	xstart_row(c);
}

// PF is how many MCUs ahead xcompress prefetches source blocks (measured:
// 2, 4 and 8 on a sideways 12 MP photo; 4 was fastest).
#define PF 4

// xcompress encodes one iMCU row, MCU by MCU, padding the right and bottom
// edges with dummy blocks as jctrans.c does (AC zero, DC the previous
// block's).
static boolean xcompress(j_compress_ptr c, JSAMPIMAGE input) {
	(void)input;
	struct xcoef *x = (struct xcoef *)c->coef;
	const struct obx_job *j = x->j;
	JDIMENSION lastCol = c->MCUs_per_row - 1, lastRow = c->total_iMCU_rows - 1;
	JBLOCKROW mcu[C_MAX_BLOCKS_IN_MCU];
	for (int yoff = 0; yoff < x->mcuRows; yoff++) {
		for (JDIMENSION col = 0; col <= lastCol; col++) {
			int n = 0;
			for (int ci = 0; ci < c->comps_in_scan; ci++) {
				jpeg_component_info *k = c->cur_comp_info[ci];
				int idx = k->component_index;
				int real = col < lastCol ? k->MCU_width : k->last_col_width;
				JDIMENSION bx0 = col * (JDIMENSION)k->MCU_width;
				for (int yi = 0; yi < k->MCU_height; yi++) {
					int xi = 0;
					if (x->iMCU < lastRow || yoff + yi < k->last_row_height) {
						JDIMENSION by = (x->row0 + x->iMCU) * (JDIMENSION)k->v_samp_factor + (JDIMENSION)(yoff + yi);
						for (; xi < real; xi++, n++) {
							JDIMENSION sy, sx, bx = bx0 + (JDIMENSION)xi;
							// The blocks PF MCUs on: for a rotation they are
							// rows of blocks apart, where the hardware
							// prefetchers do not look (20% of the encoding
							// CPU of a sideways 12 MP photo).
							if (bx + PF * (JDIMENSION)k->MCU_width < k->width_in_blocks) {
								source(j->op, by, bx + PF * (JDIMENSION)k->MCU_width, j->sw[idx], j->sh[idx], &sy, &sx);
								const char *p = (const char *)j->srow[idx][sy][sx];
								__builtin_prefetch(p);
								__builtin_prefetch(p + 64);
							}
							source(j->op, by, bx, j->sw[idx], j->sh[idx], &sy, &sx);
							block(x->blk[n], j->srow[idx][sy][sx], j->sg, j->tr);
							mcu[n] = &x->blk[n];
						}
					}
					for (; xi < k->MCU_width; xi++, n++) {
						memset(x->blk[n], 0, sizeof x->blk[n]);
						x->blk[n][0] = x->blk[n - 1][0];
						mcu[n] = &x->blk[n];
					}
				}
			}
			if (!(*c->entropy->encode_mcu)(c, mcu)) ERREXIT(c, JERR_CANT_SUSPEND);
		}
	}
	x->iMCU++;
	xstart_row(c);
	return TRUE;
}

// enc is what obx_encode's error path needs after a longjmp (in memory).
struct enc {
	struct jpeg_compress_struct c;
	struct obx_err e;
	int cinit;
	unsigned char *out;
	unsigned long outSize;
};

int obx_encode(const struct obx_job *j, int strip, unsigned char *dst, unsigned long dstCap,
		unsigned char **out, unsigned long *outSize, char *errbuf, int errlen) {
	*out = NULL;
	*outSize = 0;
	if (strip < 0 || strip >= j->strips) return -1;
	struct enc *s = calloc(1, sizeof *s);
	if (s == NULL) return -1;
	s->c.err = obx_err_init(&s->e);
	if (setjmp(s->e.jb)) {
		snprintf(errbuf, errlen, "%s", s->e.msg);
		if (s->out != NULL && s->out != dst) free(s->out);
		if (s->cinit) jpeg_destroy_compress(&s->c);
		free(s);
		return -1;
	}
	jpeg_create_compress(&s->c);
	s->cinit = 1;
	// Reads the decoder's parameters only: safe beside the other strips.
	jpeg_copy_critical_parameters((j_decompress_ptr)&j->d, &s->c);
	if (j->tr) { // transpose_critical_parameters
		JDIMENSION t = s->c.image_width;
		s->c.image_width = s->c.image_height;
		s->c.image_height = t;
		for (int ci = 0; ci < j->nc; ci++) {
			jpeg_component_info *k = &s->c.comp_info[ci];
			int hs = k->h_samp_factor;
			k->h_samp_factor = k->v_samp_factor;
			k->v_samp_factor = hs;
		}
		for (int q = 0; q < NUM_QUANT_TBLS; q++) {
			JQUANT_TBL *qt = s->c.quant_tbl_ptrs[q];
			if (qt == NULL) continue;
			for (int i = 0; i < DCTSIZE; i++)
				for (int k = 0; k < i; k++) {
					UINT16 v = qt->quantval[i * DCTSIZE + k];
					qt->quantval[i * DCTSIZE + k] = qt->quantval[k * DCTSIZE + i];
					qt->quantval[k * DCTSIZE + i] = v;
				}
		}
	}
	JDIMENSION row0 = (JDIMENSION)strip * j->per;
	if (j->strips > 1) {
		// A strip is a picture of its own rows: the same tables, its DC
		// predictions starting from zero as after a restart marker.
		JDIMENSION top = row0 * j->imcu, h = j->per * j->imcu;
		s->c.image_height = top + h < j->height ? h : j->height - top;
		s->c.restart_interval = j->restart;
	}
	// Output straight into the caller's buffer; libjpeg allocates a larger
	// one only if it does not fit.
	s->out = dst;
	s->outSize = dstCap;
	jpeg_mem_dest(&s->c, &s->out, &s->outSize);
	jvirt_barray_ptr none[MAX_COMPONENTS] = {0}; // never read: xcoef replaces jctrans's controller
	jpeg_write_coefficients(&s->c, none);
	struct xcoef *x = (*s->c.mem->alloc_small)((j_common_ptr)&s->c, JPOOL_IMAGE, sizeof *x);
	memset(x, 0, sizeof *x);
	x->pub.start_pass = xstart_pass;
	x->pub.compress_data = xcompress;
	x->j = j;
	x->row0 = row0;
	s->c.coef = &x->pub;
	jpeg_finish_compress(&s->c);
	*out = s->out;
	*outSize = s->outSize;
	s->out = NULL; // the caller's now
	jpeg_destroy_compress(&s->c);
	free(s);
	return 0;
}
