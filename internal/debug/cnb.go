package debug

import (
	"encoding/json"
	"path"
	"strings"
)

// Buildpacks images (Cloud Native Buildpacks) run their processes through
// the CNB launcher; Transform unwraps the process to rewrite it and wraps
// the result again.
const (
	cnbLauncher      = "/cnb/lifecycle/launcher"
	cnbProcessDir    = "/cnb/process/"
	cnbStackLabel    = "io.buildpacks.stack.id"
	cnbMetadataLabel = "io.buildpacks.build.metadata"
)

// cnbProcess is the process a buildpacks image's launcher runs.
type cnbProcess struct {
	command []string
	args    []string
	// direct processes are exec'd; the others run through the shell.
	direct bool
	// buildpacks are the ids of the buildpacks that built the image.
	buildpacks []string
}

// cnbMetadata is the part of io.buildpacks.build.metadata Transform reads.
// Platform API 0.10 writes command as a list, older ones as a string.
type cnbMetadata struct {
	Buildpacks []struct {
		ID string `json:"id"`
	} `json:"buildpacks"`
	Processes []struct {
		Type    string          `json:"type"`
		Command json.RawMessage `json:"command"`
		Args    []string        `json:"args"`
		Direct  bool            `json:"direct"`
	} `json:"processes"`
}

// launchedProcess returns the process a buildpacks image runs for the
// command line line: the launcher's default process (CNB_PROCESS_TYPE,
// else web), /cnb/process/<type>, a process type named after the
// launcher, or the command after "--". Extra arguments are appended to
// the process's, as the launcher does. ok is false when the image is not
// a buildpacks image or line does not start with its launcher.
func launchedProcess(cfg ImageConfig, env map[string]string, line []string) (*cnbProcess, bool) {
	if cfg.Labels[cnbStackLabel] == "" && cfg.Labels[cnbMetadataLabel] == "" || len(line) == 0 {
		return nil, false
	}
	var md cnbMetadata
	_ = json.Unmarshal([]byte(cfg.Labels[cnbMetadataLabel]), &md)
	p := &cnbProcess{}
	for _, b := range md.Buildpacks {
		p.buildpacks = append(p.buildpacks, b.ID)
	}
	byType := func(typ string, extra []string) (*cnbProcess, bool) {
		for _, pr := range md.Processes {
			if pr.Type != typ {
				continue
			}
			var list []string
			if json.Unmarshal(pr.Command, &list) != nil {
				var s string
				if json.Unmarshal(pr.Command, &s) != nil {
					return nil, false
				}
				list = []string{s}
			}
			p.command, p.direct = list, pr.Direct
			p.args = append(append([]string{}, pr.Args...), extra...)
			return p, true
		}
		return nil, false
	}
	switch {
	case strings.HasPrefix(line[0], cnbProcessDir):
		return byType(path.Base(line[0]), line[1:])
	case line[0] != cnbLauncher:
		return nil, false
	case len(line) == 1:
		typ := env["CNB_PROCESS_TYPE"]
		if typ == "" {
			typ = "web"
		}
		return byType(typ, nil)
	case line[1] == "--":
		p.command, p.args, p.direct = line[2:3], line[3:], true
		return p, len(line) > 2
	}
	if pr, ok := byType(line[1], line[2:]); ok {
		return pr, true
	}
	// A command line the launcher runs through the shell.
	p.command, p.args = []string{strings.Join(line[1:], " ")}, nil
	return p, true
}

// line is the command line the process runs: its command and arguments,
// or for a shell process `sh -c SCRIPT`.
func (p *cnbProcess) line() []string {
	if p.direct {
		return append(append([]string{}, p.command...), p.args...)
	}
	return []string{"/bin/sh", "-c", strings.Join(append(append([]string{}, p.command...), p.args...), " ")}
}

// wrap returns the launcher's arguments that run line, a rewritten line():
// "--" and the command for a direct process, else the script, which the
// launcher runs through the shell.
func (p *cnbProcess) wrap(line []string) []string {
	if p.direct {
		return append([]string{"--"}, line...)
	}
	return []string{line[2]}
}
