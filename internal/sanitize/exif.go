package sanitize

import "encoding/binary"

// exifOrientation reads the Orientation tag (0x0112) from IFD0 of a TIFF
// structure (the payload of a JPEG APP1 "Exif\0\0" segment, a PNG eXIf chunk
// or a WebP EXIF chunk). It returns 1 (normal) when the tag is absent, the
// data is malformed, or the value is out of range: a bad orientation never
// fails an upload, it is simply not applied.
func exifOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(tiff[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := int(bo.Uint32(tiff[4:8]))
	if off < 8 || off > len(tiff)-2 {
		return 1
	}
	n := int(bo.Uint16(tiff[off:]))
	p := off + 2
	for i := 0; i < n && i < 1000; i++ {
		e := p + 12*i
		if e+12 > len(tiff) {
			return 1
		}
		if bo.Uint16(tiff[e:]) != 0x0112 {
			continue
		}
		typ, count := bo.Uint16(tiff[e+2:]), bo.Uint32(tiff[e+4:])
		if typ != 3 || count != 1 { // SHORT, one value
			return 1
		}
		v := int(bo.Uint16(tiff[e+8:]))
		if v < 1 || v > 8 {
			return 1
		}
		return v
	}
	return 1
}
