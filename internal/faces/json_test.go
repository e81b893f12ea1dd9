package faces

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/faces/gallery"
)

// Suggestions are API output: snake_case like every other field (issue 17.11).
func TestSuggestionJSONIsSnakeCase(t *testing.T) {
	b, err := json.Marshal(FaceSuggestion{SuggestionID: "sg_1", Candidates: []gallery.Candidate{{Person: Person{ID: "per_1", Name: "Ann"}, Score: 0.91}}})
	if err != nil {
		t.Fatal(err)
	}
	const want = `"candidates":[{"person":{"id":"per_1","name":"Ann"},"score":0.91}]`
	if got := string(b); !strings.Contains(got, want) {
		t.Errorf("suggestion JSON %s, want it to contain %s", got, want)
	}
}
