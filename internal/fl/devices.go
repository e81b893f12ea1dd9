package fl

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/obscuraproject/obscura/internal/derived"
	"github.com/obscuraproject/obscura/internal/store"
)

// Devices is the derived-data kind "fl_devices": the device keys enrolled
// for a subject. Revoking federated_learning or erasing the subject
// deletes them (no further participation is possible); round records keep
// only keyed hashes of participants, and a published model cannot be
// un-trained (the purpose's notice says so).
type Devices struct {
	Store store.FL
}

var _ derived.Kind = Devices{}

// Name implements derived.Kind.
func (Devices) Name() string { return "fl_devices" }

// ForgetAsset implements derived.Kind: devices are not about a photo.
func (Devices) ForgetAsset(context.Context, string, string) error { return nil }

// ForgetPurpose implements derived.Kind: revoking federated_learning deletes the enrolments.
func (d Devices) ForgetPurpose(ctx context.Context, tenant, subjectHash, purpose string) error {
	if purpose != Purpose {
		return nil
	}
	return d.ForgetSubject(ctx, tenant, subjectHash)
}

// ForgetSubject implements derived.Kind.
func (d Devices) ForgetSubject(ctx context.Context, tenant, subjectHash string) error {
	if _, err := d.Store.DeleteFLDevices(ctx, tenant, subjectHash); err != nil {
		return fmt.Errorf("forget fl devices: %w", err)
	}
	return nil
}

// ExportedDevice is one enrolled device in an export bundle.
type ExportedDevice struct {
	DeviceID   string    `json:"device_id"`
	PublicKey  string    `json:"public_key"` // hex Ed25519
	EnrolledAt time.Time `json:"enrolled_at"`
}

// Export implements derived.Kind: fl/devices.json.
func (d Devices) Export(ctx context.Context, tenant, subjectHash string, b derived.Bundle) error {
	l, err := d.Store.FLDevicesOf(ctx, tenant, subjectHash)
	if err != nil || len(l) == 0 {
		return err
	}
	out := struct {
		Devices []ExportedDevice `json:"devices"`
		Note    string           `json:"note"`
	}{Note: "Device keys enrolled for federated learning. Models already published were trained on noisy, aggregated updates and cannot be un-trained."}
	for _, dv := range l {
		out.Devices = append(out.Devices, ExportedDevice{DeviceID: dv.ID, PublicKey: hex.EncodeToString(dv.PublicKey), EnrolledAt: dv.EnrolledAt.UTC()})
	}
	j, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return b.Add("fl/devices.json", j)
}

// Held implements derived.Kind.
func (d Devices) Held(ctx context.Context, tenant, subjectHash string) (int, error) {
	l, err := d.Store.FLDevicesOf(ctx, tenant, subjectHash)
	return len(l), err
}
