// Package sanitizetest crafts the amplification attack files of security
// finding 16.2 for tests and benchmarks: small uploads whose headers
// announce tens of megapixels, so that decoding, rotating and re-encoding
// them costs seconds of CPU and hundreds of megabytes. It is imported only
// by tests and benchmark helpers.
package sanitizetest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"sync"
)

// exifTIFF is a big-endian TIFF with one IFD entry: Orientation = o.
func exifTIFF(o uint16) []byte {
	b := []byte("MM\x00*\x00\x00\x00\x08\x00\x01")
	b = append(b, 0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, byte(o>>8), byte(o), 0, 0)
	return append(b, 0, 0, 0, 0)
}

func pngChunk(out []byte, typ string, body []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	start := len(out)
	out = append(out, typ...)
	out = append(out, body...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
}

// PNG returns a w×h 16-bit RGBA PNG of zeros with an eXIf orientation o.
// At 7000×7000 it is about 381 KB and decodes to 392 MB (finding 16.2).
func PNG(w, h int, o uint16) []byte {
	out := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 16, 6, 0, 0, 0) // 16-bit, RGBA, deflate, filter 0, no interlace
	out = pngChunk(out, "IHDR", ihdr)
	out = pngChunk(out, "eXIf", exifTIFF(o))
	out = pngChunk(out, "IDAT", zeroIDAT(w, h))
	return pngChunk(out, "IEND", nil)
}

var (
	idatMu sync.Mutex
	idats  = map[[2]int][]byte{}
)

// zeroIDAT is the zlib stream of h rows of 16-bit RGBA zeros, compressed
// once per size (a 7000×7000 one takes seconds).
func zeroIDAT(w, h int) []byte {
	idatMu.Lock()
	defer idatMu.Unlock()
	if b, ok := idats[[2]int{w, h}]; ok {
		return b
	}
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	row := make([]byte, 1+8*w) // filter byte 0, then zero samples
	for range h {
		zw.Write(row)
	}
	zw.Close()
	idats[[2]int{w, h}] = z.Bytes()
	return z.Bytes()
}

// JPEG returns a w×h (multiples of 8) grey baseline JPEG of one flat
// colour with an EXIF orientation o, built with the standard tables
// (taken from a tiny JPEG the standard library encodes) and a scan whose
// every block is "DC unchanged, end of block": 6 bits per 8×8 block. At
// 7000×7000 it is about 575 KB (finding 16.2).
func JPEG(w, h int, o uint16) []byte {
	var tiny bytes.Buffer
	if err := jpeg.Encode(&tiny, image.NewGray(image.Rect(0, 0, 8, 8)), &jpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}
	t := tiny.Bytes()
	out := []byte{0xFF, 0xD8}
	app1 := append([]byte("Exif\x00\x00"), exifTIFF(o)...)
	out = append(out, 0xFF, 0xE1, byte((len(app1)+2)>>8), byte(len(app1)+2))
	out = append(out, app1...)
	for p := 2; p+4 <= len(t); {
		m, n := t[p+1], int(binary.BigEndian.Uint16(t[p+2:]))
		seg := t[p : p+2+n]
		p += 2 + n
		switch m {
		case 0xDB, 0xC4: // DQT, DHT
			out = append(out, seg...)
		case 0xC0: // SOF0: same, with the announced size
			s := append([]byte(nil), seg...)
			binary.BigEndian.PutUint16(s[5:], uint16(h))
			binary.BigEndian.PutUint16(s[7:], uint16(w))
			out = append(out, s...)
		case 0xDA: // SOS header, then our scan
			out = append(out, seg...)
			blocks := (w / 8) * (h / 8)
			// DC category 0 is "00" and EOB is "1010" in the standard
			// luminance tables: "001010" per block, 4 blocks per 3 bytes.
			pattern := []byte{0x28, 0xA2, 0x8A}
			for i := 0; i < blocks/4; i++ {
				out = append(out, pattern...)
			}
			var bits, nbits uint32
			for range blocks % 4 {
				bits, nbits = bits<<6|0x0A, nbits+6
			}
			for nbits%8 != 0 { // pad with 1 bits
				bits, nbits = bits<<1|1, nbits+1
			}
			for nbits > 0 {
				nbits -= 8
				out = append(out, byte(bits>>nbits))
			}
			return append(out, 0xFF, 0xD9)
		}
	}
	panic("sanitizetest: no scan in the template JPEG")
}
