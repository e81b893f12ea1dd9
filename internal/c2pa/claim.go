package c2pa

import (
	"fmt"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// Labels of the boxes and assertions Obscura writes (C2PA 2.1 §11, §18).
const (
	LabelStore      = "c2pa"
	LabelAssertions = "c2pa.assertions"
	LabelClaim      = "c2pa.claim.v2"
	LabelSignature  = "c2pa.signature"
	LabelActions    = "c2pa.actions.v2"
	LabelIngredient = "c2pa.ingredient.v3"
	LabelDataHash   = "c2pa.hash.data"
)

// Actions (C2PA 2.1 §18.14.4).
const (
	ActionCreated = "c2pa.created"
	ActionOpened  = "c2pa.opened"
	ActionEdited  = "c2pa.edited"
)

// IPTC digital source types Obscura uses
// (https://cv.iptc.org/newscodes/digitalsourcetype/).
const (
	// SourceComposite: "mix or composite of several elements, any of which
	// may or may not be generative AI".
	SourceComposite = "http://cv.iptc.org/newscodes/digitalsourcetype/composite"
	// SourceDigitalCapture: the parent photo as the camera made it (not asserted
	// by Obscura, which cannot know; listed for readers of the spec).
	SourceDigitalCapture = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
)

// HashedURI is a hashed JUMBF URI (C2PA 2.1 §8.3).
type HashedURI struct {
	URL  string `cbor:"url" json:"url"`
	Alg  string `cbor:"alg,omitempty" json:"alg,omitempty"`
	Hash []byte `cbor:"hash" json:"hash"`
}

// GeneratorInfo names software (claim_generator_info, softwareAgent).
type GeneratorInfo struct {
	Name    string `cbor:"name" json:"name"`
	Version string `cbor:"version,omitempty" json:"version,omitempty"`
}

// Claim is a C2PA claim v2 (C2PA 2.1 §10.2).
type Claim struct {
	InstanceID         string        `cbor:"instanceID" json:"instanceID"`
	ClaimGeneratorInfo GeneratorInfo `cbor:"claim_generator_info" json:"claim_generator_info"`
	Signature          string        `cbor:"signature" json:"signature"`
	CreatedAssertions  []HashedURI   `cbor:"created_assertions" json:"created_assertions"`
	Title              string        `cbor:"dc:title,omitempty" json:"dc:title,omitempty"`
	Alg                string        `cbor:"alg,omitempty" json:"alg,omitempty"`
}

// Action is one entry of c2pa.actions.v2.
type Action struct {
	Action            string         `cbor:"action" json:"action"`
	SoftwareAgent     *GeneratorInfo `cbor:"softwareAgent,omitempty" json:"softwareAgent,omitempty"`
	DigitalSourceType string         `cbor:"digitalSourceType,omitempty" json:"digitalSourceType,omitempty"`
	Description       string         `cbor:"description,omitempty" json:"description,omitempty"`
	When              string         `cbor:"when,omitempty" json:"when,omitempty"`
	Parameters        *ActionParams  `cbor:"parameters,omitempty" json:"parameters,omitempty"`
}

// ActionParams are an action's parameters; Ingredients point at ingredient
// assertions (for c2pa.opened: the parentOf ingredient).
type ActionParams struct {
	Ingredients []HashedURI `cbor:"ingredients,omitempty" json:"ingredients,omitempty"`
}

// Actions is the c2pa.actions.v2 assertion.
type Actions struct {
	Actions []Action `cbor:"actions" json:"actions"`
}

// Ingredient is the c2pa.ingredient.v3 assertion.
type Ingredient struct {
	Title        string `cbor:"dc:title,omitempty" json:"dc:title,omitempty"`
	Format       string `cbor:"dc:format,omitempty" json:"dc:format,omitempty"`
	Relationship string `cbor:"relationship" json:"relationship"`
	InstanceID   string `cbor:"instanceID,omitempty" json:"instanceID,omitempty"`
	Description  string `cbor:"description,omitempty" json:"description,omitempty"`
}

// Exclusion is a byte range left out of a data hash.
type Exclusion struct {
	Start  int `cbor:"start" json:"start"`
	Length int `cbor:"length" json:"length"`
}

// DataHash is the c2pa.hash.data hard binding (C2PA 2.1 §18.5).
type DataHash struct {
	Exclusions []Exclusion `cbor:"exclusions" json:"exclusions"`
	Name       string      `cbor:"name,omitempty" json:"name,omitempty"`
	Alg        string      `cbor:"alg" json:"alg"`
	Hash       []byte      `cbor:"hash" json:"hash"`
	Pad        []byte      `cbor:"pad" json:"pad"`
}

// encMode is deterministic CBOR (RFC 8949 §4.2 core deterministic
// encoding) so equal values give equal bytes.
var encMode = func() cbor.EncMode {
	o := cbor.CoreDetEncOptions()
	o.NilContainers = cbor.NilContainerAsEmpty
	m, err := o.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// decMode bounds what a hostile claim can make the decoder allocate.
var decMode = func() cbor.DecMode {
	m, err := cbor.DecOptions{
		MaxNestedLevels:  16,
		MaxArrayElements: 4096,
		MaxMapPairs:      4096,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// DecodeClaim parses a claim v2 from CBOR.
func DecodeClaim(p []byte) (*Claim, error) {
	var c Claim
	if err := decMode.Unmarshal(p, &c); err != nil {
		return nil, fmt.Errorf("%w: claim: %v", ErrMalformed, err)
	}
	if c.InstanceID == "" || c.Signature == "" || len(c.CreatedAssertions) == 0 {
		return nil, fmt.Errorf("%w: claim lacks instanceID, signature or created_assertions", ErrMalformed)
	}
	return &c, nil
}

// assertionURL is the relative JUMBF URI of an assertion in the same manifest.
func assertionURL(label string) string { return "self#jumbf=" + LabelAssertions + "/" + label }

// assertionLabel resolves a hashed URI to an assertion label in the same
// manifest; absolute URIs must name the manifest itself.
func assertionLabel(url, manifest string) (string, bool) {
	rest, ok := strings.CutPrefix(url, "self#jumbf=")
	if !ok {
		return "", false
	}
	if abs, ok := strings.CutPrefix(rest, "/"+LabelStore+"/"); ok {
		m, r, ok := strings.Cut(abs, "/")
		if !ok || m != manifest {
			return "", false
		}
		rest = r
	}
	label, ok := strings.CutPrefix(rest, LabelAssertions+"/")
	if !ok || label == "" || strings.Contains(label, "/") {
		return "", false
	}
	return label, true
}
