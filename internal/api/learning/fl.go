package learning

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/api/op"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/fl"
	"github.com/obscuraproject/obscura/internal/fl/scene"
	"github.com/obscuraproject/obscura/internal/secagg"
)

// FLService is what the API needs from the federated-learning coordinator.
type FLService interface {
	Enroll(ctx context.Context, tenant, subject string, pub ed25519.PublicKey) (string, error)
	CreateTask(ctx context.Context, tenant, id string, cfg fl.TaskConfig, seed []scene.Example, canary []byte) error
	Checkin(ctx context.Context, tenant, task, deviceID string, at int64, sig []byte) (fl.Status, error)
	Poll(ctx context.Context, tenant string, session [secagg.SessionLen]byte, deviceID string) (fl.Status, error)
	Submit(ctx context.Context, tenant string, session [secagg.SessionLen]byte, msg []byte) error
	Rollback(ctx context.Context, tenant, task string) (int, error)
	Model(ctx context.Context, tenant, task string) (fl.Artefact, []byte, error)
	Summarize(ctx context.Context, tenant, task string) (fl.Summary, error)
	Config(ctx context.Context, tenant, task string) (fl.TaskConfig, error)
}

// FLEnrollInput enrols a device key for a subject.
type FLEnrollInput struct {
	Body struct {
		Subject   string `json:"subject" minLength:"1" maxLength:"256" doc:"The app's opaque id of the device's user"`
		PublicKey []byte `json:"public_key" doc:"The device's Ed25519 public key (base64)"`
	}
}

// FLEnrollOutput names the enrolled device.
type FLEnrollOutput struct {
	Body struct {
		DeviceID string `json:"device_id" doc:"Hex SHA-256 of the public key"`
	}
}

// FLCreateTaskInput creates a task.
type FLCreateTaskInput struct {
	Body struct {
		ID     string        `json:"id" pattern:"^[a-z0-9][a-z0-9_-]{0,39}$"`
		Config fl.TaskConfig `json:"config"`
		Seed   []byte        `json:"seed" maxLength:"4194304" doc:"Seed set, scene-v1 feature set (base64): the seed model (version 1) is trained on it"`
		Canary []byte        `json:"canary" maxLength:"4194304" doc:"Canary set, scene-v1 (base64), held out from every client: each candidate model is checked on it"`
	}
}

// FLTaskInput addresses a task.
type FLTaskInput struct {
	Task string `path:"task" pattern:"^[a-z0-9][a-z0-9_-]{0,39}$"`
}

// FLCheckinInput checks a device in to a task's next round.
type FLCheckinInput struct {
	Task string `path:"task" pattern:"^[a-z0-9][a-z0-9_-]{0,39}$"`
	Body struct {
		DeviceID  string `json:"device_id" pattern:"^[0-9a-f]{64}$"`
		At        int64  `json:"at" doc:"Unix seconds; within five minutes of the server's clock"`
		Signature []byte `json:"signature" doc:"Ed25519 over \"obscura/fl/v1 checkin\\0\" ‖ task ‖ at (int64 BE)"`
	}
}

// FLPollInput asks for the state of a device's round.
type FLPollInput struct {
	Session string `path:"session" pattern:"^[0-9a-f]{32}$"`
	Body    struct {
		DeviceID  string `json:"device_id" pattern:"^[0-9a-f]{64}$"`
		WithModel bool   `json:"with_model,omitempty" doc:"Include the signed model artefact the round trains from"`
	}
}

// FLMessageInput carries one signed secure-aggregation message (docs/spec/secagg-v1.md).
type FLMessageInput struct {
	Session string `path:"session" pattern:"^[0-9a-f]{32}$"`
	Body    struct {
		Message []byte `json:"message" maxLength:"33554432" doc:"secagg-v1 client message (base64)"`
	}
}

// FLStatus is a device's view of its round.
type FLStatus struct {
	Task      string `json:"task"`
	Round     int    `json:"round"`
	Session   string `json:"session"`
	Phase     string `json:"phase" enum:"checkin,advertise,share_keys,masked_input,consistency,unmask,done"`
	Index     uint32 `json:"index,omitempty"`
	Threshold int    `json:"threshold,omitempty"`
	Bits      uint8  `json:"bits,omitempty"`
	Length    int    `json:"length,omitempty"`
	Version   int    `json:"version"`
	SHA256    string `json:"sha256,omitempty"`
	Artefact  []byte `json:"artefact,omitempty"`
	Broadcast []byte `json:"broadcast,omitempty" doc:"secagg-v1 server message of the current phase for this device"`
	Outcome   string `json:"outcome,omitempty"`
}

// FLStatusOutput wraps FLStatus.
type FLStatusOutput struct{ Body FLStatus }

// FLConfigOutput is a task's mechanism and training configuration, for devices.
type FLConfigOutput struct{ Body fl.TaskConfig }

// FLModelOutput is a task's current model version.
type FLModelOutput struct {
	Body struct {
		Version  int         `json:"version"`
		SHA256   string      `json:"sha256"`
		Artefact []byte      `json:"artefact" doc:"Signed artefact (docs/spec/secagg-v1.md, Model artefact)"`
		Record   fl.Record   `json:"record"`
		Classes  []string    `json:"classes"`
		Shape    scene.Shape `json:"shape"`
		Task     string      `json:"task"`
		Format   string      `json:"format"`
	}
}

// FLSummaryOutput is a task's state for operators.
type FLSummaryOutput struct {
	Body struct {
		Task     string     `json:"task"`
		Version  int        `json:"version"`
		RhoSpent float64    `json:"rho_spent"`
		Budget   float64    `json:"rho_budget"`
		Epsilon  float64    `json:"epsilon"`
		Rounds   []FLRecord `json:"rounds"`
	}
}

// FLRecord is one round's audited record.
type FLRecord struct {
	Number       int      `json:"number"`
	Participants []string `json:"participants" doc:"Keyed hashes of the subjects, never raw ids"`
	Survivors    int      `json:"survivors"`
	Rho          float64  `json:"rho"`
	Outcome      string   `json:"outcome"`
	CanaryBefore float64  `json:"canary_before"`
	CanaryAfter  float64  `json:"canary_after"`
	Version      int      `json:"version"`
}

// FLVersionOutput names the current version after a rollback.
type FLVersionOutput struct {
	Body struct {
		Version int `json:"version"`
	}
}

func flStatus(s fl.Status) *FLStatusOutput {
	return &FLStatusOutput{Body: FLStatus{Task: s.Task, Round: s.Round, Session: hex.EncodeToString(s.Session[:]), Phase: s.Phase,
		Index: s.Index, Threshold: s.Params.Threshold, Bits: s.Params.Bits, Length: s.Params.Length, Version: s.Version,
		SHA256: s.SHA256, Artefact: s.Artefact, Broadcast: s.Broadcast, Outcome: s.Outcome}}
}

func session(h string) ([secagg.SessionLen]byte, error) {
	var s [secagg.SessionLen]byte
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != len(s) {
		return s, fault.New(fault.Invalid, "session must be 32 hex digits")
	}
	copy(s[:], b)
	return s, nil
}

// RegisterFL registers the federated-learning operations.
func RegisterFL(h op.Host, d Deps) {
	meta := map[string]any{"feature": fl.Feature}
	errs := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict, http.StatusServiceUnavailable}
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "fl-enroll-device", Method: http.MethodPost, Path: "/v1/fl/devices", Tags: []string{"federated learning"},
		Summary:  "Enrol a device key for one subject (Sybil resistance: one party cannot pose as many)",
		Security: op.Secured(auth.ScopeAdmin), DefaultStatus: http.StatusCreated, Metadata: meta, Errors: errs,
	}, func(ctx context.Context, in *FLEnrollInput) (*FLEnrollOutput, error) {
		id, err := d.FL.Enroll(ctx, op.Principal(ctx).TenantID, in.Body.Subject, ed25519.PublicKey(in.Body.PublicKey))
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &FLEnrollOutput{}
		out.Body.DeviceID = id
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "fl-create-task", Method: http.MethodPost, Path: "/v1/fl/tasks", Tags: []string{"federated learning"},
		Summary:  "Create a federated task with its seed model and canary set",
		Security: op.Secured(auth.ScopeAdmin), DefaultStatus: http.StatusCreated, Metadata: meta, Errors: errs, MaxBodyBytes: 12 << 20,
	}, func(ctx context.Context, in *FLCreateTaskInput) (*FLVersionOutput, error) {
		seed, err := scene.ReadScene(in.Body.Seed)
		if err != nil {
			return nil, h.Fail(ctx, fault.Wrap(fault.Invalid, "seed must be a scene-v1 feature set", err))
		}
		if err := d.FL.CreateTask(ctx, op.Principal(ctx).TenantID, in.Body.ID, in.Body.Config, seed.Examples, in.Body.Canary); err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &FLVersionOutput{}
		out.Body.Version = 1
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "fl-get-task", Method: http.MethodGet, Path: "/v1/fl/tasks/{task}", Tags: []string{"federated learning"},
		Summary: "A task's rounds (audited records), privacy spent and current version", Security: op.Secured(auth.ScopeAdmin), Errors: errs,
	}, func(ctx context.Context, in *FLTaskInput) (*FLSummaryOutput, error) {
		s, err := d.FL.Summarize(ctx, op.Principal(ctx).TenantID, in.Task)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &FLSummaryOutput{}
		out.Body.Task, out.Body.Version, out.Body.RhoSpent, out.Body.Budget, out.Body.Epsilon = s.Task, s.Version, s.RhoSpent, s.Budget, s.Epsilon
		out.Body.Rounds = []FLRecord{}
		for _, r := range s.Rounds {
			out.Body.Rounds = append(out.Body.Rounds, FLRecord{Number: r.Number, Participants: r.Participants, Survivors: r.Survivors, Rho: r.Rho,
				Outcome: r.Outcome, CanaryBefore: r.CanaryBefore, CanaryAfter: r.CanaryAfter, Version: r.Version})
		}
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "fl-rollback", Method: http.MethodPost, Path: "/v1/fl/tasks/{task}/rollback", Tags: []string{"federated learning"},
		Summary: "Make the previous model version current again", Security: op.Secured(auth.ScopeAdmin), Errors: errs,
	}, func(ctx context.Context, in *FLTaskInput) (*FLVersionOutput, error) {
		v, err := d.FL.Rollback(ctx, op.Principal(ctx).TenantID, in.Task)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &FLVersionOutput{}
		out.Body.Version = v
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "fl-get-model", Method: http.MethodGet, Path: "/v1/fl/tasks/{task}/model", Tags: []string{"federated learning"},
		Summary: "The task's current model version: only versions that passed the canary check are ever current", Security: op.Secured(auth.ScopeAnalyze), Errors: errs,
	}, func(ctx context.Context, in *FLTaskInput) (*FLModelOutput, error) {
		m, raw, err := d.FL.Model(ctx, op.Principal(ctx).TenantID, in.Task)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &FLModelOutput{}
		out.Body.Version, out.Body.Artefact, out.Body.Record, out.Body.Classes, out.Body.Shape, out.Body.Task, out.Body.Format =
			m.Version, raw, m.Record, m.Classes, m.Shape, m.Task, m.Format
		out.Body.SHA256 = sha256Hex(raw)
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "fl-get-config", Method: http.MethodGet, Path: "/v1/fl/tasks/{task}/config", Tags: []string{"federated learning"},
		Summary: "The task's mechanism (clipping, noise, ring) and training settings, for devices", Security: op.Secured(auth.ScopeIngest), Metadata: meta, Errors: errs,
	}, func(ctx context.Context, in *FLTaskInput) (*FLConfigOutput, error) {
		c, err := d.FL.Config(ctx, op.Principal(ctx).TenantID, in.Task)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		return &FLConfigOutput{Body: c}, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "fl-checkin", Method: http.MethodPost, Path: "/v1/fl/tasks/{task}/checkin", Tags: []string{"federated learning"},
		Summary:  "Check an enrolled device in to the task's next round (its subject must have granted federated_learning)",
		Security: op.Secured(auth.ScopeIngest), Metadata: meta, Errors: errs,
	}, func(ctx context.Context, in *FLCheckinInput) (*FLStatusOutput, error) {
		s, err := d.FL.Checkin(ctx, op.Principal(ctx).TenantID, in.Task, in.Body.DeviceID, in.Body.At, in.Body.Signature)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		return flStatus(s), nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "fl-poll", Method: http.MethodPost, Path: "/v1/fl/rounds/{session}/poll", Tags: []string{"federated learning"},
		Summary: "A device's view of its round: phase, parameters and the server message it needs", Security: op.Secured(auth.ScopeIngest), Metadata: meta, Errors: errs,
	}, func(ctx context.Context, in *FLPollInput) (*FLStatusOutput, error) {
		sess, err := session(in.Session)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		s, err := d.FL.Poll(ctx, op.Principal(ctx).TenantID, sess, in.Body.DeviceID)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		if !in.Body.WithModel {
			s.Artefact = nil
		}
		return flStatus(s), nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "fl-submit", Method: http.MethodPost, Path: "/v1/fl/rounds/{session}/messages", Tags: []string{"federated learning"},
		Summary:  "Submit one signed secure-aggregation message (forged, replayed or out-of-order messages are refused)",
		Security: op.Secured(auth.ScopeIngest), DefaultStatus: http.StatusNoContent, Metadata: meta, Errors: errs, MaxBodyBytes: 48 << 20,
	}, func(ctx context.Context, in *FLMessageInput) (*struct{}, error) {
		sess, err := session(in.Session)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		if err := d.FL.Submit(ctx, op.Principal(ctx).TenantID, sess, in.Body.Message); err != nil {
			return nil, h.Fail(ctx, err)
		}
		return nil, nil
	})
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
