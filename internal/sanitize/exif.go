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

// Orientation returns the EXIF orientation (1–8) of a JPEG, PNG or WebP
// file without decoding it: 1 when there is none, the format carries its
// rotation elsewhere (HEIC), or the container is malformed. Readers that
// decode pixels themselves (the vision engine) use it to turn images
// upright the way Sanitize does.
func Orientation(data []byte) int {
	f, err := Sniff(data)
	if err != nil {
		return 1
	}
	switch f {
	case JPEG:
		for p := 2; p+4 <= len(data); {
			if data[p] != 0xFF {
				return 1
			}
			m := data[p+1]
			if m == 0xFF {
				p++
				continue
			}
			if m == 0xDA || m == 0xD9 { // start of scan: no metadata after it
				return 1
			}
			n := int(binary.BigEndian.Uint16(data[p+2:]))
			if n < 2 || p+2+n > len(data) {
				return 1
			}
			payload := data[p+4 : p+2+n]
			if m == 0xE1 && len(payload) > 6 && string(payload[:6]) == "Exif\x00\x00" {
				return exifOrientation(payload[6:])
			}
			p += 2 + n
		}
	case PNG:
		for p := 8; p+12 <= len(data); {
			n := int(binary.BigEndian.Uint32(data[p:]))
			if n < 0 || n > len(data)-p-12 {
				return 1
			}
			typ := string(data[p+4 : p+8])
			if typ == "eXIf" {
				return exifOrientation(data[p+8 : p+8+n])
			}
			if typ == "IDAT" || typ == "IEND" {
				return 1
			}
			p += 12 + n
		}
	case WebP:
		for p := 12; p+8 <= len(data); {
			n := int(binary.LittleEndian.Uint32(data[p+4:]))
			if n < 0 || n > len(data)-p-8 {
				return 1
			}
			if string(data[p:p+4]) == "EXIF" {
				b := data[p+8 : p+8+n]
				if len(b) > 6 && string(b[:6]) == "Exif\x00\x00" {
					b = b[6:]
				}
				return exifOrientation(b)
			}
			p += 8 + n + n&1
		}
	}
	return 1
}
