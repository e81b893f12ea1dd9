package sanitizetest

/*
#cgo LDFLAGS: -ljpeg
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

struct obc_err {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
};

static void obc_error_exit(j_common_ptr c) { longjmp(((struct obc_err *)c->err)->jb, 1); }
static void obc_emit_message(j_common_ptr c, int level) { if (level < 0) obc_error_exit(c); }
static void obc_output_message(j_common_ptr c) { (void)c; }

// obc_read decodes buf's DCT coefficients (stopping at the first warning)
// into a malloc'd array: for each component, its width and height in
// blocks, its sampling factors, its quantization table, then its blocks
// row by row, 64 coefficients each.
static int obc_read(const unsigned char *buf, unsigned long size, int *nc, short **out, size_t *n) {
	struct jpeg_decompress_struct d;
	struct obc_err e;
	short *volatile res = NULL;
	d.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = obc_error_exit;
	e.pub.emit_message = obc_emit_message;
	e.pub.output_message = obc_output_message;
	if (setjmp(e.jb)) {
		free(res);
		jpeg_destroy_decompress(&d);
		return -1;
	}
	jpeg_create_decompress(&d);
	jpeg_mem_src(&d, buf, size);
	jpeg_read_header(&d, TRUE);
	jvirt_barray_ptr *arr = jpeg_read_coefficients(&d);
	size_t total = 0;
	for (int ci = 0; ci < d.num_components; ci++)
		total += 4 + DCTSIZE2 + (size_t)d.comp_info[ci].width_in_blocks * d.comp_info[ci].height_in_blocks * DCTSIZE2;
	res = malloc(total * sizeof(short));
	if (res == NULL) longjmp(e.jb, 1);
	short *p = res;
	for (int ci = 0; ci < d.num_components; ci++) {
		jpeg_component_info *k = &d.comp_info[ci];
		*p++ = (short)k->width_in_blocks;
		*p++ = (short)k->height_in_blocks;
		*p++ = (short)k->h_samp_factor;
		*p++ = (short)k->v_samp_factor;
		for (int i = 0; i < DCTSIZE2; i++) *p++ = k->quant_table ? (short)k->quant_table->quantval[i] : 0;
		for (JDIMENSION r = 0; r < k->height_in_blocks; r++) {
			JBLOCKARRAY row = (*d.mem->access_virt_barray)((j_common_ptr)&d, arr[ci], r, 1, FALSE);
			memcpy(p, row[0], (size_t)k->width_in_blocks * sizeof(JBLOCK));
			p += (size_t)k->width_in_blocks * DCTSIZE2;
		}
	}
	*nc = d.num_components;
	*out = res;
	*n = total;
	jpeg_destroy_decompress(&d);
	return 0;
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// Coefficients decodes a JPEG's quantized DCT coefficients with libjpeg
// (stopping at the first warning): for each component its width and
// height in blocks, its sampling factors, its quantization table, then its
// blocks row by row. Two JPEGs equal by it decode to the same pixels
// whatever their entropy coding (restart markers, Huffman tables); the
// sanitize tests compare lossless transforms by it.
func Coefficients(data []byte) ([]int16, error) {
	if len(data) == 0 {
		return nil, errors.New("empty")
	}
	var nc C.int
	var out *C.short
	var n C.size_t
	if C.obc_read((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), &nc, &out, &n) != 0 {
		return nil, errors.New("libjpeg refused the JPEG")
	}
	defer C.free(unsafe.Pointer(out))
	return append([]int16(nil), unsafe.Slice((*int16)(unsafe.Pointer(out)), int(n))...), nil
}
