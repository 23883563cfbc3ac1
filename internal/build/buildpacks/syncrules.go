package buildpacks

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"skiff.dev/skiff/internal/config/schema"
)

// LabelSyncRules is the image label through which a buildpack declares the
// sync rules of an image built in development mode. A buildpack writes it
// in launch.toml:
//
//	[[labels]]
//	  key = "dev.skiff.sync"
//	  value = '[{"src": "**/*.go", "dest": "/workspace"}]'
//
// The value is a JSON array of rules {"src", "dest", "strip"}: src is a
// glob of paths relative to the application directory, dest an absolute
// directory inside it, strip a prefix removed from the path first (see
// docs/buildpacks-dev-mode.md). The name is outside io.buildpacks.*, which
// the Buildpacks spec reserves for its own labels.
const LabelSyncRules = "dev.skiff.sync"

// The labels the lifecycle writes that the legacy rules are found through.
const (
	labelBuildMetadata     = "io.buildpacks.build.metadata"
	labelLifecycleMetadata = "io.buildpacks.lifecycle.metadata"
	// legacyBOMKey is the BOM metadata key of Google's buildpacks' rules.
	legacyBOMKey = "devmode.sync"
	// sbomLegacyFile is where lifecycles of Platform API 0.9 and later put
	// the legacy BOM: in the SBOM layer, under the layers directory.
	sbomLegacyFile = "sbom/launch/sbom.legacy.json"
	// defaultAppDir is the application directory when the image names no
	// working directory.
	defaultAppDir = "/workspace"
)

// maxSBOMFile bounds the legacy BOM file read from the SBOM layer.
const maxSBOMFile = 16 << 20

// ImageSource is what ReadSyncRules needs of a built image.
type ImageSource struct {
	// Ref names the image in messages.
	Ref string
	// Labels and WorkingDir are the image's configuration; WorkingDir is
	// the application directory (CNB_APP_DIR), "" for /workspace.
	Labels     map[string]string
	WorkingDir string
	// Layer opens the uncompressed layer with that diffID (the SBOM
	// layer); nil when layers cannot be read.
	Layer func(diffID string) (io.ReadCloser, error)
}

// SyncRules are the sync rules an image declares, and where they were
// found.
type SyncRules struct {
	// Rules are the usable rules; none means every change rebuilds.
	Rules []schema.SyncRule
	// From says where the rules were found ("" when nowhere).
	From string
	// Warnings say what was found but refused (bad JSON, a rule with a
	// path outside the application), naming the image and the place.
	Warnings []string
}

// ReadSyncRules reads the sync rules an image built in development mode
// declares, from the first place that has any:
//  1. the label LabelSyncRules;
//  2. legacy BOM entries with metadata "devmode.sync" in the label
//     io.buildpacks.build.metadata (its "bom", Platform API < 0.9);
//  3. the same entries in sbom/launch/sbom.legacy.json in the SBOM layer
//     that io.buildpacks.lifecycle.metadata names (Platform API >= 0.9).
//
// A place that holds something unreadable ends the search with a warning
// and no rules, as do rules that leave the application directory (those
// rules only are dropped). An error means the SBOM layer could not be
// read.
func ReadSyncRules(src ImageSource) (SyncRules, error) {
	appDir := src.WorkingDir
	if appDir == "" {
		appDir = defaultAppDir
	}
	appDir = path.Clean(appDir)
	var out SyncRules
	use := func(place string, rules []schema.SyncRule) SyncRules {
		out.From = place
		for i, r := range rules {
			if err := checkRule(r, appDir); err != nil {
				out.Warnings = append(out.Warnings, fmt.Sprintf("image %s: %s: rule %d ignored: %v", src.Ref, place, i, err))
				continue
			}
			out.Rules = append(out.Rules, r)
		}
		return out
	}
	bad := func(place string, err error) SyncRules {
		out.From = place
		out.Warnings = append(out.Warnings, fmt.Sprintf("image %s: %s: %v; the buildpack that wrote it should be fixed; until then changes rebuild the image", src.Ref, place, err))
		return out
	}

	if v, ok := src.Labels[LabelSyncRules]; ok {
		place := "the label " + LabelSyncRules
		var rules []schema.SyncRule
		if err := json.Unmarshal([]byte(v), &rules); err != nil {
			return bad(place, fmt.Errorf("not a JSON array of {\"src\", \"dest\", \"strip\"} rules: %w", err)), nil
		}
		return use(place, rules), nil
	}

	if v, ok := src.Labels[labelBuildMetadata]; ok {
		place := "the legacy BOM (" + legacyBOMKey + ") in the label " + labelBuildMetadata
		var md struct {
			BOM []bomEntry `json:"bom"`
		}
		if err := json.Unmarshal([]byte(v), &md); err != nil {
			return bad("the label "+labelBuildMetadata, fmt.Errorf("not JSON build metadata: %w", err)), nil
		}
		rules, found, err := legacyRules(md.BOM)
		if err != nil {
			return bad(place, err), nil
		}
		if found {
			return use(place, rules), nil
		}
	}

	v, ok := src.Labels[labelLifecycleMetadata]
	if !ok {
		return out, nil
	}
	var lmd struct {
		SBOM *struct {
			SHA string `json:"sha"`
		} `json:"sbom"`
	}
	if err := json.Unmarshal([]byte(v), &lmd); err != nil {
		return bad("the label "+labelLifecycleMetadata, fmt.Errorf("not JSON lifecycle metadata: %w", err)), nil
	}
	if lmd.SBOM == nil || lmd.SBOM.SHA == "" || src.Layer == nil {
		return out, nil
	}
	place := "the legacy BOM (" + legacyBOMKey + ") in the SBOM layer's " + sbomLegacyFile
	data, found, err := sbomLegacyBOM(src.Layer, lmd.SBOM.SHA)
	if err != nil {
		return out, fmt.Errorf("image %s: reading the SBOM layer %s: %w", src.Ref, lmd.SBOM.SHA, err)
	}
	if !found {
		return out, nil
	}
	bom, err := parseLegacyBOM(data)
	if err != nil {
		return bad(place, err), nil
	}
	rules, found, err := legacyRules(bom)
	if err != nil {
		return bad(place, err), nil
	}
	if found {
		return use(place, rules), nil
	}
	return out, nil
}

// bomEntry is a legacy BOM entry, as buildpacks declared it in
// build.toml or launch.toml [[bom]].
type bomEntry struct {
	Name     string                     `json:"name"`
	Metadata map[string]json.RawMessage `json:"metadata"`
}

// legacyRules collects the devmode.sync rules of every entry; found says
// an entry had the key.
func legacyRules(bom []bomEntry) (rules []schema.SyncRule, found bool, err error) {
	for _, e := range bom {
		raw, ok := e.Metadata[legacyBOMKey]
		if !ok {
			continue
		}
		found = true
		var rs []schema.SyncRule
		if err := json.Unmarshal(raw, &rs); err != nil {
			return nil, true, fmt.Errorf("entry %q: %s is not a JSON array of {\"src\", \"dest\"} rules: %w", e.Name, legacyBOMKey, err)
		}
		rules = append(rules, rs...)
	}
	return rules, found, nil
}

// parseLegacyBOM reads sbom.legacy.json: an array of BOM entries (or an
// object with them under "bom").
func parseLegacyBOM(data []byte) ([]bomEntry, error) {
	var bom []bomEntry
	if err := json.Unmarshal(data, &bom); err == nil {
		return bom, nil
	}
	var md struct {
		BOM []bomEntry `json:"bom"`
	}
	if err := json.Unmarshal(data, &md); err != nil {
		return nil, fmt.Errorf("not a JSON array of BOM entries: %w", err)
	}
	return md.BOM, nil
}

// sbomLegacyBOM reads sbom.legacy.json from the layer with that diffID.
func sbomLegacyBOM(open func(string) (io.ReadCloser, error), diffID string) ([]byte, bool, error) {
	rc, err := open(diffID)
	if err != nil {
		return nil, false, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if h.Typeflag != tar.TypeReg || !(name == sbomLegacyFile || strings.HasSuffix(name, "/"+sbomLegacyFile)) {
			continue
		}
		if h.Size > maxSBOMFile {
			return nil, false, fmt.Errorf("%s is %d bytes, more than %d", h.Name, h.Size, maxSBOMFile)
		}
		data, err := io.ReadAll(tr)
		return data, true, err
	}
}

// checkRule refuses a rule whose paths leave the application: src must be
// a relative glob that stays in the context, dest a directory inside
// appDir, strip a relative prefix.
func checkRule(r schema.SyncRule, appDir string) error {
	switch {
	case r.Src == "":
		return errors.New("no src")
	case !doublestar.ValidatePattern(r.Src):
		return fmt.Errorf("src %q is not a valid glob", r.Src)
	case path.IsAbs(r.Src) || escapes(r.Src):
		return fmt.Errorf("src %q is not inside the application's sources", r.Src)
	case r.Dest == "" || !path.IsAbs(r.Dest):
		return fmt.Errorf("dest %q is not an absolute path", r.Dest)
	case !within(path.Clean(r.Dest), appDir):
		return fmt.Errorf("dest %q is outside the application directory %s", r.Dest, appDir)
	case path.IsAbs(r.Strip) || escapes(r.Strip):
		return fmt.Errorf("strip %q is not a relative path inside the sources", r.Strip)
	}
	return nil
}

// escapes reports whether a slash path has a ".." element.
func escapes(p string) bool {
	for _, e := range strings.Split(p, "/") {
		if e == ".." {
			return true
		}
	}
	return false
}

// within reports whether the clean absolute path p is dir or below it.
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}
