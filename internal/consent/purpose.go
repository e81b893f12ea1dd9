package consent

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/obscuraproject/obscura/internal/fault"
)

// Purpose is one reason for processing. The registry is append-only: a
// purpose is never renamed or removed, because receipts name it forever.
type Purpose struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Biometric purposes process data that identifies a person by their
	// body; they need their own, explicit grant and are never implied.
	Biometric bool `json:"biometric"`
}

// Registry lists every built-in purpose. Append only.
var Registry = []Purpose{
	{Name: "tagging", Description: "Label what is in your photos (objects, scenes) so you can search them."},
	{Name: "face_detection", Description: "Find where faces are in your photos, without identifying anyone."},
	{Name: "face_recognition", Description: "Recognise the people you name across your photos by comparing faces. This builds biometric templates of faces.", Biometric: true},
	{Name: "text_detection", Description: "Read text that appears in your photos."},
	{Name: "sensitive_content", Description: "Check photos for nudity or other sensitive content before they are shared."},
	{Name: "meme_generation", Description: "Suggest captions and meme drafts for your photos. " +
		"Making them includes two safety checks on each photo, a sensitive-content rating (no drafts of sensitive photos) and face detection (no caption describes a person); " +
		"their results are used once and never stored. Drafts expire unless you keep them. " +
		"Each generated image carries a signed record that Obscura made it and an invisible identifier (a watermark) that this app can recognise in copies; neither names you."},
	{Name: "analytics", Description: "Include your activity in anonymous, differentially private statistics."},
	{Name: "federated_learning", Description: "Help improve models on your device; only noisy, aggregated updates leave it. Revoking stops future participation, but a model already published cannot be un-trained."},
}

var pluginName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// ErrUnknownPurpose is returned for a purpose not in the registry.
var ErrUnknownPurpose = fault.New(fault.Invalid, "unknown purpose")

// Lookup returns a registered purpose, or a plugin purpose "plugin:<name>".
func Lookup(name string) (Purpose, error) {
	for _, p := range Registry {
		if p.Name == name {
			return p, nil
		}
	}
	if n, ok := strings.CutPrefix(name, "plugin:"); ok && pluginName.MatchString(n) {
		return Purpose{Name: name, Description: fmt.Sprintf("Run the %q plugin on your photos.", n)}, nil
	}
	return Purpose{}, ErrUnknownPurpose
}
