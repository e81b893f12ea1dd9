package vision

import (
	"testing"

	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/centernet"
	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/nsfw"
)

// TestHarden: the model-output contract (top-k tags above the floor,
// rounded confidences, whole-pixel boxes), hardened once here.
func TestHarden(t *testing.T) {
	tags := HardenTags([]centernet.Tag{{Label: "cup", Score: 0.36}, {Label: "person", Score: 0.91234}, {Label: "dog", Score: 0.34},
		{Label: "a", Score: 0.5}, {Label: "b", Score: 0.6}, {Label: "c", Score: 0.7}, {Label: "d", Score: 0.8}})
	if len(tags) != MaxTags || tags[0].Label != "person" || tags[0].Score != 0.91 {
		t.Errorf("tags %+v: want top %d by score, rounded", tags, MaxTags)
	}
	for _, tg := range tags {
		if tg.Score < MinTagScore || tg.Label == "cup" || tg.Label == "dog" {
			t.Errorf("tag %+v survived hardening", tg)
		}
	}
	if got := HardenTags(nil); got == nil || len(got) != 0 {
		t.Errorf("no tags: %#v, want empty and present", got)
	}
	f := HardenFace(blazeface.Face{Box: geom.Rect{X: 1.4, Y: 2.6, W: 10.5, H: 9.49}, Score: 0.876543})
	if f.Score != 0.88 || f.Box != (geom.Rect{X: 1, Y: 3, W: 11, H: 9}) {
		t.Errorf("face %+v", f)
	}
	s := HardenRating(nsfw.Rating{Label: "safe", Scores: map[string]float64{"neutral": 0.98765, "porn": 0.001}})
	if s.Label != "safe" || s.Scores["neutral"] != 0.99 || s.Scores["porn"] != 0 {
		t.Errorf("sensitive %+v", s)
	}
	l := HardenText("hi there", geom.Rect{X: 0.4, Y: 0.6, W: 3, H: 1}, 0.9149)
	if l.Score != 0.91 || l.Text != "hi there" || l.Box != (geom.Rect{X: 0, Y: 1, W: 3, H: 1}) {
		t.Errorf("text %+v", l)
	}
}
