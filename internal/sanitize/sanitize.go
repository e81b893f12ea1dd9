// Package sanitize turns an uploaded photo into one that carries pixels and
// nothing else: the real format is sniffed from the bytes (never trusted from
// Content-Type), dimensions are checked from the header before any pixel is
// decoded (decompression bombs), the EXIF orientation is applied to the
// pixels, and every piece of metadata is removed — EXIF (GPS, camera make and
// model, timestamps, maker notes, embedded thumbnails), XMP, IPTC, ICC
// profiles, comments, text chunks, and data trailing the image (e.g. MPF
// secondary images).
//
// Technique: JPEG, PNG and WebP are rewritten losslessly by keeping only an
// allow-list of segments/chunks needed to render the pixels. A JPEG whose
// orientation is not "normal" is rotated losslessly in the DCT domain
// (package jpegtran; large ones entropy-coded in strips on several
// threads, joined with restart markers) where its block grid allows, and decoded,
// rotated and re-encoded otherwise, as PNG and WebP always are. HEIC is always decoded (libheif in a WebAssembly sandbox) and stored as
// JPEG. Allow-listing means unknown or future metadata containers are
// dropped, not passed through.
//
// Does not protect against: information in the pixels themselves (faces,
// street signs, screens), or steganography.
package sanitize

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"

	"github.com/gen2brain/heic"
	"golang.org/x/image/webp"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/sanitize/jpegtran"
)

// Format is an image format.
type Format string

// Formats accepted on upload. Stored photos are jpeg, png or webp.
const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
	WebP Format = "webp"
	HEIC Format = "heic"
)

// ContentType returns the MIME type of f.
func (f Format) ContentType() string {
	return map[Format]string{JPEG: "image/jpeg", PNG: "image/png", WebP: "image/webp", HEIC: "image/heic"}[f]
}

// ParseContentType maps a MIME type to a Format.
func ParseContentType(ct string) (Format, bool) {
	switch ct {
	case "image/jpeg":
		return JPEG, true
	case "image/png":
		return PNG, true
	case "image/webp":
		return WebP, true
	case "image/heic", "image/heif":
		return HEIC, true
	}
	return "", false
}

// Sentinel errors.
var (
	ErrUnsupported = fault.New(fault.Unsupported, "not a JPEG, PNG, WebP or HEIC image")
	ErrTooLarge    = fault.New(fault.TooLarge, "image dimensions over the pixel limit")
	ErrInvalid     = fault.New(fault.Invalid, "image is truncated or malformed")
)

// Limits bound what is accepted.
type Limits struct {
	// MaxPixels is the largest width×height accepted (checked before decoding).
	MaxPixels int64
	// MaxDecodeBytes bounds width × height × bytes per pixel (bit depth
	// and channels, from the header); 0 means DefaultMaxDecodeBytes.
	MaxDecodeBytes int64
	// Admit, if set, is called with the pixel count before any image is
	// fully decoded, and its release function after the decoded pixels
	// are no longer needed: a gate bounding decodes in flight (see
	// guard.Gate). An error stops the sanitizing.
	Admit func(pixels int64) (release func(), err error)
}

// DefaultLimits accept up to 50 megapixels (a 12 MP phone photo is far below;
// a decompression bomb of 50 000 × 50 000 is far above) and 200 MB of
// decoded pixels.
var DefaultLimits = Limits{MaxPixels: 50_000_000, MaxDecodeBytes: DefaultMaxDecodeBytes}

// Result is a sanitized image.
type Result struct {
	Format      Format // stored format (HEIC becomes JPEG)
	Width       int
	Height      int
	Data        []byte
	Orientation int  // the orientation that was applied (1 = none)
	Reencoded   bool // pixels were decoded and encoded again
}

// Sniff identifies the format from the first bytes.
func Sniff(b []byte) (Format, error) {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return JPEG, nil
	case len(b) >= 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n":
		return PNG, nil
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return WebP, nil
	case len(b) >= 12 && string(b[4:8]) == "ftyp" && isHEICBrand(string(b[8:12])):
		return HEIC, nil
	}
	return "", ErrUnsupported
}

func isHEICBrand(s string) bool {
	switch s {
	case "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1":
		return true
	}
	return false
}

func checkDims(w, h int, lim Limits) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("dimensions %dx%d: %w", w, h, ErrInvalid)
	}
	if int64(w)*int64(h) > lim.MaxPixels {
		return fmt.Errorf("%dx%d: %w", w, h, ErrTooLarge)
	}
	return nil
}

// Sanitize sniffs, checks and cleans data.
func Sanitize(data []byte, lim Limits) (res Result, err error) {
	f, err := Sniff(data)
	if err != nil {
		return Result{}, err
	}
	defer func() {
		// Decoders of untrusted bytes must not take the process down.
		if r := recover(); r != nil {
			res, err = Result{}, fmt.Errorf("decoder panic: %v: %w", r, ErrInvalid)
		}
	}()
	switch f {
	case JPEG:
		return sanitizeJPEG(data, lim)
	case PNG:
		return sanitizePNG(data, lim)
	case WebP:
		return sanitizeWebP(data, lim)
	default:
		return sanitizeHEIC(data, lim)
	}
}

// JPEG ----------------------------------------------------------------------

// jpegCanonical returns the segment to keep for marker m with payload, or
// nil to drop it. Kept segments carry no free bytes: each is checked to be
// exactly what its parsed fields encode (no trailing bytes, reserved values
// in range), and APP14 "Adobe" is rebuilt from its one field the decoder
// reads (the colour transform). Everything else — APP0–APP15 (JFIF, EXIF,
// XMP, ICC, IPTC, MPF…), COM, DAC, unknown markers — is dropped.
func jpegCanonical(m byte, payload []byte) ([]byte, error) {
	bad := func(what string) ([]byte, error) {
		return nil, fmt.Errorf("jpeg: %s segment %02x: %w", what, m, ErrInvalid)
	}
	switch {
	case m == 0xDB: // DQT: (Pq<<4|Tq, 64 or 128 bytes)+
		for p := payload; len(p) > 0; {
			pq, tq := p[0]>>4, p[0]&0x0F
			n := 1 + 64*(1+int(pq))
			if pq > 1 || tq > 3 || len(p) < n {
				return bad("quantization")
			}
			p = p[n:]
		}
	case m == 0xC4: // DHT: (Tc<<4|Th, 16 counts, symbols)+
		for p := payload; len(p) > 0; {
			if len(p) < 17 || p[0]>>4 > 1 || p[0]&0x0F > 3 {
				return bad("huffman")
			}
			n := 17
			for _, c := range p[1:17] {
				n += int(c)
			}
			if len(p) < n {
				return bad("huffman")
			}
			p = p[n:]
		}
	case m == 0xDD: // DRI: the restart interval
		if len(payload) != 2 {
			return bad("restart")
		}
	case m >= 0xC0 && m <= 0xCF && m != 0xC8 && m != 0xCC: // SOFn: P Y X Nf (C H|V Tq)*Nf
		if len(payload) < 6 || len(payload) != 6+3*int(payload[5]) {
			return bad("frame")
		}
	case m == 0xEE: // APP14 "Adobe": version, flags0, flags1, transform
		if len(payload) < 12 || !bytes.HasPrefix(payload, []byte("Adobe")) || payload[11] > 2 {
			return nil, nil
		}
		return append([]byte{0xFF, 0xEE, 0x00, 0x0E}, "Adobe\x00\x64\x00\x00\x00\x00"+string(payload[11:12])...), nil
	default:
		return nil, nil
	}
	seg := []byte{0xFF, m, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	return append(seg, payload...), nil
}

func sanitizeJPEG(data []byte, lim Limits) (Result, error) {
	out := make([]byte, 0, len(data))
	out = append(out, 0xFF, 0xD8)
	orientation, w, h := 1, 0, 0
	p, sawSOS := 2, false
	for {
		// Skip fill bytes, then read a marker.
		for p < len(data) && data[p] == 0xFF && p+1 < len(data) && data[p+1] == 0xFF {
			p++
		}
		if p+2 > len(data) || data[p] != 0xFF {
			return Result{}, fmt.Errorf("jpeg: no marker at %d: %w", p, ErrInvalid)
		}
		m := data[p+1]
		p += 2
		if m == 0xD9 { // EOI: anything after it is dropped
			if !sawSOS || w == 0 {
				return Result{}, fmt.Errorf("jpeg: no frame or scan: %w", ErrInvalid)
			}
			out = append(out, 0xFF, 0xD9)
			break
		}
		if m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01 || m == 0x00 {
			return Result{}, fmt.Errorf("jpeg: unexpected marker %02x: %w", m, ErrInvalid)
		}
		if p+2 > len(data) {
			return Result{}, fmt.Errorf("jpeg: truncated: %w", ErrInvalid)
		}
		n := int(binary.BigEndian.Uint16(data[p:]))
		if n < 2 || p+n > len(data) {
			return Result{}, fmt.Errorf("jpeg: segment length: %w", ErrInvalid)
		}
		payload := data[p+2 : p+n]
		seg := data[p-2 : p+n]
		p += n
		switch {
		case m == 0xE1 && bytes.HasPrefix(payload, []byte("Exif\x00\x00")):
			if o := exifOrientation(payload[6:]); o != 1 {
				orientation = o
			}
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			if len(payload) < 5 {
				return Result{}, fmt.Errorf("jpeg: short frame header: %w", ErrInvalid)
			}
			h, w = int(binary.BigEndian.Uint16(payload[1:])), int(binary.BigEndian.Uint16(payload[3:]))
			if err := checkDims(w, h, lim); err != nil {
				return Result{}, err
			}
		}
		if m == 0xDA { // SOS: copy the header and the entropy-coded data up to the next marker
			if w == 0 {
				return Result{}, fmt.Errorf("jpeg: scan before frame: %w", ErrInvalid)
			}
			// Ns (Cs Td|Ta)*Ns Ss Se Ah|Al: exactly, so the header carries no free bytes.
			if len(payload) < 1 || len(payload) != 4+2*int(payload[0]) {
				return Result{}, fmt.Errorf("jpeg: scan header length: %w", ErrInvalid)
			}
			sawSOS = true
			start := p
			for {
				// Only 0xFF can start a marker: jump from one to the next
				// (IndexByte is vectorised; a byte loop over the megabytes
				// of a 12 MP scan was a visible part of an ingest).
				i := bytes.IndexByte(data[p:], 0xFF)
				if i < 0 || p+i+1 >= len(data) {
					return Result{}, fmt.Errorf("jpeg: truncated scan: %w", ErrInvalid)
				}
				p += i
				if m := data[p+1]; m != 0x00 && (m < 0xD0 || m > 0xD7) && m != 0xFF {
					break
				}
				p++
			}
			out = append(out, seg...)
			out = append(out, data[start:p]...)
			continue
		}
		keep, err := jpegCanonical(m, payload)
		if err != nil {
			return Result{}, err
		}
		out = append(out, keep...)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(out))
	if err != nil {
		return Result{}, fmt.Errorf("jpeg: %v: %w", err, ErrInvalid)
	}
	if err := lim.checkBudget(cfg); err != nil {
		return Result{}, err
	}
	res := Result{Format: JPEG, Width: cfg.Width, Height: cfg.Height, Data: out, Orientation: orientation}
	if orientation == 1 {
		return res, nil
	}
	release, err := lim.admit(cfg)
	if err != nil {
		return Result{}, err
	}
	defer release()
	// Rotate in the DCT domain when the block grid allows it exactly
	// (issue 25.5): the pixels are not decoded or re-encoded. The result
	// goes through the same allow-list again (the library writes its own
	// JFIF marker).
	kept := takeScratch()
	rot, buf, err := jpegtran.OrientInto(out, orientation, kept)
	if err == nil {
		// A copy: rot's buffer is kept for the next rotation.
		clean, err := sanitizeJPEG(rot, Limits{MaxPixels: lim.MaxPixels, MaxDecodeBytes: lim.MaxDecodeBytes})
		keepScratch(buf)
		if err != nil {
			return Result{}, err
		}
		clean.Orientation = orientation
		return clean, nil
	}
	keepScratch(kept)
	img, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		return Result{}, fmt.Errorf("jpeg: %v: %w", err, ErrInvalid)
	}
	return encodeJPEG(orient(img, orientation), orientation)
}

// JPEGQuality is used when pixels must be re-encoded (orientation, HEIC).
const JPEGQuality = 92

func encodeJPEG(img image.Image, orientation int) (Result, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: JPEGQuality}); err != nil {
		return Result{}, fmt.Errorf("encode jpeg: %w", err)
	}
	b := img.Bounds()
	return Result{Format: JPEG, Width: b.Dx(), Height: b.Dy(), Data: buf.Bytes(), Orientation: orientation, Reencoded: true}, nil
}

// PNG -----------------------------------------------------------------------

var pngKeep = map[string]bool{"IHDR": true, "PLTE": true, "IDAT": true, "IEND": true, "tRNS": true, "gAMA": true, "cHRM": true, "sRGB": true, "sBIT": true}

func sanitizePNG(data []byte, lim Limits) (Result, error) {
	out := append(make([]byte, 0, len(data)), data[:8]...)
	p, orientation, first, done := 8, 1, true, false
	for !done {
		if p+12 > len(data) {
			return Result{}, fmt.Errorf("png: truncated: %w", ErrInvalid)
		}
		n := int(binary.BigEndian.Uint32(data[p:]))
		if n < 0 || n > len(data)-p-12 {
			return Result{}, fmt.Errorf("png: chunk length: %w", ErrInvalid)
		}
		typ := string(data[p+4 : p+8])
		body := data[p+8 : p+8+n]
		crc := binary.BigEndian.Uint32(data[p+8+n:])
		if crc32.ChecksumIEEE(data[p+4:p+8+n]) != crc {
			return Result{}, fmt.Errorf("png: bad crc in %q: %w", typ, ErrInvalid)
		}
		chunk := data[p : p+12+n]
		p += 12 + n
		if first != (typ == "IHDR") {
			return Result{}, fmt.Errorf("png: IHDR not first: %w", ErrInvalid)
		}
		first = false
		switch typ {
		case "IHDR":
			if n != 13 {
				return Result{}, fmt.Errorf("png: IHDR size: %w", ErrInvalid)
			}
			if err := checkDims(int(binary.BigEndian.Uint32(body)), int(binary.BigEndian.Uint32(body[4:])), lim); err != nil {
				return Result{}, err
			}
		case "eXIf":
			orientation = exifOrientation(body)
		case "IEND":
			done = true
		}
		if pngKeep[typ] {
			out = append(out, chunk...)
		}
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(out))
	if err != nil {
		return Result{}, fmt.Errorf("png: %v: %w", err, ErrInvalid)
	}
	if err := lim.checkBudget(cfg); err != nil {
		return Result{}, err
	}
	if orientation == 1 {
		return Result{Format: PNG, Width: cfg.Width, Height: cfg.Height, Data: out, Orientation: 1}, nil
	}
	release, err := lim.admit(cfg)
	if err != nil {
		return Result{}, err
	}
	defer release()
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		return Result{}, fmt.Errorf("png: %v: %w", err, ErrInvalid)
	}
	return encodePNG(orient(img, orientation), orientation)
}

func encodePNG(img image.Image, orientation int) (Result, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Result{}, fmt.Errorf("encode png: %w", err)
	}
	b := img.Bounds()
	return Result{Format: PNG, Width: b.Dx(), Height: b.Dy(), Data: buf.Bytes(), Orientation: orientation, Reencoded: true}, nil
}

// WebP ----------------------------------------------------------------------

func sanitizeWebP(data []byte, lim Limits) (Result, error) {
	if len(data) < 12 || int(binary.LittleEndian.Uint32(data[4:])) != len(data)-8 {
		// Trailing data after the RIFF container is not accepted.
		if len(data) < 12 || int(binary.LittleEndian.Uint32(data[4:])) > len(data)-8 {
			return Result{}, fmt.Errorf("webp: truncated: %w", ErrInvalid)
		}
		data = data[:8+int(binary.LittleEndian.Uint32(data[4:]))]
	}
	out := append(make([]byte, 0, len(data)), data[:12]...)
	p, orientation, vp8x := 12, 1, -1
	sawImage := false
	for p < len(data) {
		if p+8 > len(data) {
			return Result{}, fmt.Errorf("webp: truncated chunk header: %w", ErrInvalid)
		}
		fourcc := string(data[p : p+4])
		n := int(binary.LittleEndian.Uint32(data[p+4:]))
		padded := n + n&1
		if n < 0 || padded > len(data)-p-8 {
			return Result{}, fmt.Errorf("webp: chunk length: %w", ErrInvalid)
		}
		body := data[p+8 : p+8+n]
		chunk := data[p : p+8+padded]
		p += 8 + padded
		switch fourcc {
		case "VP8X":
			if n < 10 {
				return Result{}, fmt.Errorf("webp: VP8X size: %w", ErrInvalid)
			}
			if body[0]&0x02 != 0 {
				return Result{}, fmt.Errorf("animated webp: %w", ErrUnsupported)
			}
			w, h := vp8xCanvas(body)
			if err := checkDims(w, h, lim); err != nil {
				return Result{}, err
			}
			vp8x = len(out)
			out = append(out, chunk...)
		case "VP8 ", "VP8L", "ALPH":
			sawImage = sawImage || fourcc != "ALPH"
			out = append(out, chunk...)
		case "ANIM", "ANMF":
			return Result{}, fmt.Errorf("animated webp: %w", ErrUnsupported)
		case "EXIF":
			orientation = exifOrientation(bytes.TrimPrefix(body, []byte("Exif\x00\x00")))
		}
	}
	if !sawImage {
		return Result{}, fmt.Errorf("webp: no image data: %w", ErrInvalid)
	}
	if vp8x >= 0 {
		out[vp8x+8] &^= 0x20 | 0x08 | 0x04 // ICC, EXIF, XMP flags: those chunks are gone
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	cfg, err := webp.DecodeConfig(bytes.NewReader(out))
	if err != nil {
		return Result{}, fmt.Errorf("webp: %v: %w", err, ErrInvalid)
	}
	if err := checkDims(cfg.Width, cfg.Height, lim); err != nil {
		return Result{}, err
	}
	if err := lim.checkBudget(cfg); err != nil {
		return Result{}, err
	}
	if orientation == 1 {
		return Result{Format: WebP, Width: cfg.Width, Height: cfg.Height, Data: out, Orientation: 1}, nil
	}
	release, err := lim.admit(cfg)
	if err != nil {
		return Result{}, err
	}
	defer release()
	// No WebP encoder in the standard library: oriented WebP is stored as PNG.
	img, err := webp.Decode(bytes.NewReader(out))
	if err != nil {
		return Result{}, fmt.Errorf("webp: %v: %w", err, ErrInvalid)
	}
	return encodePNG(orient(img, orientation), orientation)
}

// vp8xCanvas reads the canvas size of a VP8X chunk body (at least 10
// bytes): two 24-bit little-endian fields holding width−1 and height−1.
func vp8xCanvas(body []byte) (w, h int) {
	w = 1 + (int(body[4]) | int(body[5])<<8 | int(body[6])<<16)
	h = 1 + (int(body[7]) | int(body[8])<<8 | int(body[9])<<16)
	return w, h
}

// HEIC ----------------------------------------------------------------------

func sanitizeHEIC(data []byte, lim Limits) (Result, error) {
	cfg, err := heic.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return Result{}, fmt.Errorf("heic: %v: %w", err, ErrInvalid)
	}
	if err := checkDims(cfg.Width, cfg.Height, lim); err != nil {
		return Result{}, err
	}
	cfg.ColorModel = color.RGBAModel // libheif's output
	if err := lim.checkBudget(cfg); err != nil {
		return Result{}, err
	}
	release, err := lim.admit(cfg)
	if err != nil {
		return Result{}, err
	}
	defer release()
	img, err := heic.Decode(bytes.NewReader(data))
	if err != nil {
		return Result{}, fmt.Errorf("heic: %v: %w", err, ErrInvalid)
	}
	// libheif applies the container's rotation and mirroring (irot/imir).
	return encodeJPEG(img, 1)
}
