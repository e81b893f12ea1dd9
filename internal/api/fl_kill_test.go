package api

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/api/admin"
	"github.com/obscuraproject/obscura/internal/fl"
	"github.com/obscuraproject/obscura/internal/incident"
)

// TestKillSwitchFeaturesMatchIncident: the API accepts exactly the features
// the kill switch knows (federated learning included), so no feature can be
// stopped from the CLI but not through the API.
func TestKillSwitchFeaturesMatchIncident(t *testing.T) {
	t.Parallel()
	f, _ := reflect.TypeOf(admin.KillSwitchInput{}.Body).FieldByName("Feature")
	enum := strings.Split(f.Tag.Get("enum"), ",")
	if !slices.Equal(enum, incident.Features) {
		t.Fatalf("API enum %v, incident.Features %v", enum, incident.Features)
	}
	if !slices.Contains(enum, fl.Feature) {
		t.Fatalf("kill switch cannot stop %s", fl.Feature)
	}
}

func TestKillSwitchFLThroughAPI(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	code, _, b := e.req(t, "PUT", e.srv.URL+"/v1/admin/kill-switch", e.keys["a"], "application/json", []byte(`{"on":true,"feature":"federated_learning"}`))
	if code != 200 || !strings.Contains(string(b), "tenant:ten_a/feature:federated_learning") {
		t.Fatalf("set: %d %s", code, b)
	}
	if code, _, b := e.req(t, "PUT", e.srv.URL+"/v1/admin/kill-switch", e.keys["a"], "application/json", []byte(`{"on":true,"feature":"federated"}`)); code == 200 {
		t.Fatalf("unknown feature accepted: %s", b)
	}
}
