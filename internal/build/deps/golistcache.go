package deps

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// goLists remembers the last `go list -deps` of each workspace, main and
// environment (goListKey), with the stamp (goListStamp) the workspace had
// before it ran, so that GoPackage runs go list again only when what it
// lists may have changed. In skiff dev, a Go change rebuilds through
// GoPackage (the input digest tag and the build cache key), and go list
// costs 0.2 s or more of each rebuild while the usual edit, a function
// body, changes none of it.
var goLists = struct {
	sync.Mutex
	m map[string]goListed
}{m: map[string]goListed{}}

// goListed is one remembered go list: its workspace files and the stamp.
type goListed struct {
	stamp string
	files []string
}

// maxStampEntries bounds the workspace walk of goListStamp: past it, go
// list runs every time, as it costs less than the walk would.
const maxStampEntries = 5000

// goListKey identifies a go list by what it is given: a hash, as the
// environment may hold secrets and the key is saved (saveGoList).
func goListKey(ws, main string, environ, env []string) string {
	sum := sha256.Sum256([]byte(strings.Join(slices.Concat([]string{ws, main}, environ, []string{"\x01"}, env), "\x00")))
	return hex.EncodeToString(sum[:])
}

// maxSavedGoLists bounds the entries of a go list cache file; past it,
// arbitrary ones go (the file only spares work).
const maxSavedGoLists = 100

// goListFile is the content of a go list cache file: the lists by key.
type goListFile map[string]struct {
	Stamp string   `json:"stamp"`
	Files []string `json:"files"`
}

// readGoList returns the files saved in the cache file under key if they
// were listed when the workspace had stamp. A missing or unreadable file
// is a miss: the file only spares work.
func readGoList(file, key, stamp string) ([]string, bool) {
	if file == "" || stamp == "" {
		return nil, false
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, false
	}
	var saved goListFile
	if json.Unmarshal(data, &saved) != nil {
		return nil, false
	}
	l, ok := saved[key]
	if !ok || l.Stamp != stamp {
		return nil, false
	}
	return l.Files, true
}

// saveGoList adds the list files, made when the workspace had stamp, to
// the cache file under key. Another process may save at the same time:
// the file is replaced whole (write and rename), and a list lost that way
// is listed again. A failure to save is ignored: the file only spares
// work.
func saveGoList(file, key, stamp string, files []string) {
	if file == "" || stamp == "" {
		return
	}
	saved := goListFile{}
	if data, err := os.ReadFile(file); err == nil && json.Unmarshal(data, &saved) != nil {
		saved = goListFile{}
	}
	for k := range saved {
		if len(saved) < maxSavedGoLists {
			break
		}
		delete(saved, k)
	}
	saved[key] = struct {
		Stamp string   `json:"stamp"`
		Files []string `json:"files"`
	}{stamp, files}
	data, err := json.Marshal(saved)
	if err != nil || os.MkdirAll(filepath.Dir(file), 0o755) != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), filepath.Base(file)+".*.tmp")
	if err != nil {
		return
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}

// cachedGoList returns the files of the go list remembered under key if
// the workspace's stamp is still stamp.
func cachedGoList(key, stamp string) ([]string, bool) {
	goLists.Lock()
	defer goLists.Unlock()
	l, ok := goLists.m[key]
	if !ok || stamp == "" || l.stamp != stamp {
		return nil, false
	}
	return slices.Clone(l.files), true
}

// rememberGoList keeps files, listed from a workspace that had stamp
// before go list ran; an empty stamp (goListStamp could not make one)
// forgets the key instead.
func rememberGoList(key, stamp string, files []string) {
	goLists.Lock()
	defer goLists.Unlock()
	if stamp == "" {
		delete(goLists.m, key)
		return
	}
	goLists.m[key] = goListed{stamp: stamp, files: slices.Clone(files)}
}

// goListStamp sums what `go list -deps` reads in workspace ws: the name
// of every directory and file under it (not under .git), so that a file
// added, removed or renamed changes it; the content of the module and
// vendor files; and of each source file (Go, assembly, C and the others a
// package may hold), the part that decides its package and imports: for a
// Go file, everything up to its last import and its //go:embed lines;
// for the others, all of it (build constraints). A Go file whose function
// bodies changed keeps its stamp. It returns "" when ws holds more than
// maxStampEntries entries or cannot be read.
func goListStamp(ws string) string {
	h := sha256.New()
	entries := 0
	err := filepath.WalkDir(ws, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if entries++; entries > maxStampEntries {
			return errTooBig
		}
		rel, _ := filepath.Rel(ws, p)
		if d.IsDir() {
			if d.Name() == ".git" && p != ws {
				return filepath.SkipDir
			}
			h.Write([]byte("d\x00" + rel + "\x00"))
			return nil
		}
		h.Write([]byte("f\x00" + rel + "\x00"))
		part, err := stampPart(p, d)
		if err != nil {
			return err
		}
		h.Write(part)
		h.Write([]byte{0})
		return nil
	})
	if err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

var errTooBig = errors.New("too many files to stamp")

// sourceExts are the extensions of the files go list assigns to packages
// other than Go files (go/build's).
var sourceExts = map[string]bool{
	".c": true, ".cc": true, ".cpp": true, ".cxx": true, ".m": true, ".h": true, ".hh": true, ".hpp": true, ".hxx": true,
	".f": true, ".F": true, ".for": true, ".f90": true, ".s": true, ".S": true, ".sx": true,
	".swig": true, ".swigcxx": true, ".syso": true,
}

// stampPart is what goListStamp sums of the file p: see there.
func stampPart(p string, d fs.DirEntry) ([]byte, error) {
	name := d.Name()
	ext := filepath.Ext(name)
	switch {
	case ext == ".go":
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		return goHeader(src), nil
	case sourceExts[ext], name == "go.mod", name == "go.sum", name == "go.work", name == "go.work.sum", name == "modules.txt":
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(src)
		return sum[:], nil
	case d.Type()&fs.ModeSymlink != 0:
		// A link may point at a directory whose files go list reads.
		target, err := os.Readlink(p)
		return []byte("->" + target), err
	}
	return nil, nil
}

// goHeader is the part of a Go file that decides its package, build
// constraints, imports and embedded files: its text up to the end of its
// last import declaration (or of its package clause), and every
// //go:embed line. A file that does not parse is taken whole.
func goHeader(src []byte) []byte {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ImportsOnly|parser.ParseComments)
	if err != nil {
		sum := sha256.Sum256(src)
		return append([]byte("whole\x00"), sum[:]...)
	}
	end := f.Name.End()
	for _, decl := range f.Decls {
		end = max(end, decl.End())
	}
	header := slices.Clone(src[:fset.Position(end).Offset])
	for line := range bytes.Lines(src) {
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte("//go:embed")) {
			header = append(header, line...)
		}
	}
	return header
}
