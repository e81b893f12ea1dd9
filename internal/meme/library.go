package meme

import (
	_ "embed"
	"fmt"
	"strings"
)

//go:embed library/captions.tsv
var libraryTSV string

// Template is one caption template of the library.
type Template struct {
	ID  string
	Cue string // generic | scene:<group> | tag:<label> | text
	// PersonSafe templates never describe a person; only they are used on
	// photos with faces or people.
	PersonSafe  bool
	Top, Bottom string
}

// Library is a parsed, versioned caption library.
type Library struct {
	Version   string
	Templates []Template
}

// MaxLine bounds one line of a template.
const MaxLine = 120

// ParseLibrary parses the library format (library/captions.tsv): comment
// lines starting "#", one "version<TAB>v" line first, then one template per
// line: id, cue, "p" or "-", top, bottom, tab-separated. It rejects
// duplicate ids, unknown cues, unknown slots and lines over MaxLine.
func ParseLibrary(s string) (*Library, error) {
	lib := &Library{}
	seen := map[string]bool{}
	for n, line := range strings.Split(s, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if lib.Version == "" {
			if len(f) != 2 || f[0] != "version" || f[1] == "" {
				return nil, fmt.Errorf("library line %d: want the version line first", n+1)
			}
			lib.Version = f[1]
			continue
		}
		if len(f) != 5 {
			return nil, fmt.Errorf("library line %d: %d fields, want 5", n+1, len(f))
		}
		t := Template{ID: f[0], Cue: f[1], Top: f[3], Bottom: f[4]}
		switch f[2] {
		case "p":
			t.PersonSafe = true
		case "-":
		default:
			return nil, fmt.Errorf("library line %d: person-safe mark %q is not p or -", n+1, f[2])
		}
		if t.ID == "" || seen[t.ID] {
			return nil, fmt.Errorf("library line %d: missing or repeated id %q", n+1, t.ID)
		}
		seen[t.ID] = true
		if !validCue(t.Cue) {
			return nil, fmt.Errorf("library line %d: unknown cue %q", n+1, t.Cue)
		}
		if t.Top == "" && t.Bottom == "" {
			return nil, fmt.Errorf("library line %d: empty caption", n+1)
		}
		for _, s := range []string{t.Top, t.Bottom} {
			if len(s) > MaxLine {
				return nil, fmt.Errorf("library line %d: line over %d bytes", n+1, MaxLine)
			}
			rest := strings.NewReplacer("{tag}", "", "{text}", "").Replace(s)
			if strings.ContainsAny(rest, "{}") {
				return nil, fmt.Errorf("library line %d: unknown slot", n+1)
			}
			if strings.Contains(s, "{text}") && t.Cue != "text" || strings.Contains(s, "{tag}") && t.Cue == "generic" {
				return nil, fmt.Errorf("library line %d: slot without its cue", n+1)
			}
		}
		lib.Templates = append(lib.Templates, t)
	}
	if lib.Version == "" || len(lib.Templates) == 0 {
		return nil, fmt.Errorf("library: no version or no templates")
	}
	return lib, nil
}

func validCue(c string) bool {
	if c == "generic" || c == "text" {
		return true
	}
	if g, ok := strings.CutPrefix(c, "scene:"); ok {
		_, known := sceneNames[g]
		return known
	}
	if l, ok := strings.CutPrefix(c, "tag:"); ok {
		_, known := sceneOf[l]
		return known
	}
	return false
}

// sceneOf groups the tag model's 80 COCO labels (docs/tags.md) into scenes.
var sceneOf = map[string]string{
	"person": "group",
	"bird":   "animal", "cat": "animal", "dog": "animal", "horse": "animal", "sheep": "animal", "cow": "animal",
	"elephant": "animal", "bear": "animal", "zebra": "animal", "giraffe": "animal",
	"banana": "food", "apple": "food", "sandwich": "food", "orange": "food", "broccoli": "food", "carrot": "food",
	"hot dog": "food", "pizza": "food", "donut": "food", "cake": "food", "bowl": "food",
	"bottle": "drink", "wine glass": "drink", "cup": "drink",
	"bicycle": "vehicle", "car": "vehicle", "motorcycle": "vehicle", "airplane": "vehicle", "bus": "vehicle",
	"train": "vehicle", "truck": "vehicle", "boat": "vehicle",
	"traffic light": "street", "fire hydrant": "street", "stop sign": "street", "parking meter": "street", "bench": "street",
	"frisbee": "sport", "skis": "sport", "snowboard": "sport", "sports ball": "sport", "kite": "sport",
	"baseball bat": "sport", "baseball glove": "sport", "skateboard": "sport", "surfboard": "sport", "tennis racket": "sport",
	"tv": "tech", "laptop": "tech", "mouse": "tech", "remote": "tech", "keyboard": "tech", "cell phone": "tech",
	"microwave": "kitchen", "oven": "kitchen", "toaster": "kitchen", "sink": "kitchen", "refrigerator": "kitchen",
	"fork": "kitchen", "knife": "kitchen", "spoon": "kitchen", "dining table": "kitchen",
	"chair": "home", "couch": "home", "potted plant": "home", "bed": "home", "toilet": "home", "clock": "home",
	"vase": "home", "book": "home", "scissors": "home", "hair drier": "home", "toothbrush": "home", "teddy bear": "home",
	"backpack": "travel", "umbrella": "travel", "handbag": "travel", "tie": "travel", "suitcase": "travel",
}

// sceneNames are the scene groups (plus "outdoor", cued by vehicles,
// street furniture, sport and animals).
var sceneNames = map[string]bool{"group": true, "animal": true, "food": true, "drink": true, "vehicle": true, "street": true,
	"sport": true, "tech": true, "kitchen": true, "home": true, "travel": true, "outdoor": true}

// outdoorScenes cue the outdoor group too.
var outdoorScenes = map[string]bool{"vehicle": true, "street": true, "sport": true, "animal": true}
