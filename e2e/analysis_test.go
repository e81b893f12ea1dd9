package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/models"
)

// TestAnalysisAgainstRealServer runs the analysis issue's flow against a
// real `obscura serve`: consent refusal, a hardened synchronous result, an
// asynchronous job run by the River workers inside the server, face-tag
// suggestions with accept, and a scan of the server's logs and data
// directory for the subject id, names and labels in clear.
func TestAnalysisAgainstRealServer(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	tn := createTenant(t, data, "Analysis App")
	s := startServer(t, data)
	photo, err := models.Pinned().Load(models.DefaultDir(os.Getenv), "sample1.jpg")
	if err != nil {
		t.Fatal(err)
	}
	const subj = "subject-e2e-7f3a"
	assetID := uploadPhotoAs(t, s, tn.APIKey, subj, photo)
	analyze := s.base + "/v1/assets/" + assetID + "/analyze"

	if code, b := do(t, "POST", analyze, tn.APIKey, []byte(`{"features":["faces","tags"]}`)); code != 403 || !strings.Contains(string(b), `"code":"consent_required"`) {
		t.Fatalf("without consent: %d %s", code, b)
	}
	for _, p := range []string{"face_detection", "tagging", "face_recognition"} {
		if code, b := do(t, "POST", s.base+"/v1/subjects/"+subj+"/consents", tn.APIKey, []byte(`{"purpose":"`+p+`","notice_version":"1"}`)); code != 201 {
			t.Fatalf("grant %s: %d %s", p, code, b)
		}
	}
	code, b := do(t, "POST", analyze, tn.APIKey, []byte(`{"features":["faces","tags"]}`))
	var res struct {
		Faces []any `json:"faces"`
		Tags  []struct {
			Label string  `json:"label"`
			Score float64 `json:"score"`
		} `json:"tags"`
	}
	if json.Unmarshal(b, &res); code != 200 || len(res.Faces) != 3 || len(res.Tags) == 0 || len(res.Tags) > 5 || res.Tags[0].Label != "person" {
		t.Fatalf("analyze: %d %s", code, b)
	}

	code, b = do(t, "POST", analyze, tn.APIKey, []byte(`{"features":["tags"],"async":true}`))
	var job struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(b, &job); code != 202 || !strings.HasPrefix(job.ID, "job_") {
		t.Fatalf("async: %d %s", code, b)
	}
	deadline := time.Now().Add(jobsWithin)
	for {
		code, _, b := s.get(t, "/v1/jobs/"+job.ID, tn.APIKey)
		if code == 200 && strings.Contains(string(b), `"state":"completed"`) && strings.Contains(string(b), `"person"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job not completed: %d %s", code, b)
		}
		time.Sleep(100 * time.Millisecond)
	}

	code, b = do(t, "POST", s.base+"/v1/assets/"+assetID+"/faces/suggest", tn.APIKey, nil)
	var sg struct {
		Faces []struct {
			SuggestionID string `json:"suggestion_id"`
		} `json:"faces"`
	}
	if json.Unmarshal(b, &sg); code != 200 || len(sg.Faces) != 3 {
		t.Fatalf("suggest: %d %s", code, b)
	}
	const name = "Zelda Quintanilla"
	if code, b := do(t, "POST", s.base+"/v1/suggestions/"+sg.Faces[0].SuggestionID+"/accept", tn.APIKey, []byte(`{"person":"`+name+`"}`)); code != 200 {
		t.Fatalf("accept: %d %s", code, b)
	}
	if code, _, b := s.get(t, "/v1/subjects/"+subj+"/people", tn.APIKey); code != 200 || !strings.Contains(string(b), name) {
		t.Fatalf("people: %d %s", code, b)
	}

	// Nothing in clear: not the subject id, not the person's name, not a
	// label, in the logs or anywhere under the data directory.
	logs := s.logs.String()
	for _, secret := range []string{subj, name, `"cell phone"`, `"wine glass"`} {
		if strings.Contains(logs, secret) {
			t.Errorf("server log contains %q", secret)
		}
	}
	filepath.Walk(data, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		raw, _ := os.ReadFile(p)
		for _, secret := range []string{subj, name, "Zelda"} {
			if strings.Contains(string(raw), secret) {
				t.Errorf("%s contains %q in clear", p, secret)
			}
		}
		return nil
	})
}
