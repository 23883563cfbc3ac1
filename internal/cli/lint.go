package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"skiff.dev/skiff/internal/config"
)

// lintResult is one finding of skiff lint, in the shape of Skaffold's lint
// results (pkg/skaffold/lint.Result), whose field names it keeps.
type lintResult struct {
	Rule        lintRule
	AbsFilePath string
	RelFilePath string
	Explanation string
	StartLine   int
	EndLine     int
	StartColumn int
	EndColumn   int
}

// lintRule says what a finding is about. Severity is the LSP's: 1 error,
// 2 warning.
type lintRule struct {
	RuleID   string
	RuleType string
	Severity int
}

// The rules of skiff lint's findings.
var (
	ruleInvalid      = lintRule{RuleID: "SKIFF-CONFIG-INVALID", RuleType: "SkaffoldYamlLinter", Severity: 1}
	ruleUnsupported  = lintRule{RuleID: "SKIFF-UNSUPPORTED", RuleType: "SkaffoldYamlLinter", Severity: 2}
	ruleDependencies = lintRule{RuleID: "SKIFF-ARTIFACT-DEPENDENCIES", RuleType: "SkaffoldYamlLinter", Severity: 2}
)

func (a *app) newLintCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "lint",
		Short: "Report what diagnose finds wrong with the configuration, machine-readably",
		Long: `Check the configuration as skiff diagnose does and report each finding with its
file, line and column: a config that does not load (an error), a feature skiff
does not implement yet, an artifact whose source files cannot be listed
(warnings). --format json prints them as a JSON list in the shape of
Skaffold's lint results. skiff lint exits 1 when there is an error, 0 when
there are only warnings or none.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "plain-text" && format != "json" {
				return usageError(cmd, "--format %q: use plain-text or json", format)
			}
			ctx := cmd.Context()
			results, err := a.lint(ctx)
			if err != nil {
				return err
			}
			if format == "json" {
				if err := json.NewEncoder(a.streams.Out).Encode(results); err != nil {
					return err
				}
			} else {
				for _, r := range results {
					fmt.Fprintf(a.streams.Out, "%s:%d:%d: %s: %s\n", r.RelFilePath, r.StartLine, r.StartColumn, r.Rule.RuleID, r.Explanation)
				}
			}
			for _, r := range results {
				if r.Rule.Severity == 1 {
					return fmt.Errorf("skiff lint found errors in the configuration")
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "plain-text", "output format: plain-text or json")
	return cmd
}

// lint loads the project and lists its findings; an error is returned only
// when there is nothing to lint (no config file).
func (a *app) lint(ctx context.Context) ([]lintResult, error) {
	results := []lintResult{}
	p, err := a.loadConfig(ctx, "lint")
	if err != nil {
		var errs config.Errors
		var one *config.Error
		switch {
		case errors.As(err, &errs):
		case errors.As(err, &one):
			errs = config.Errors{one}
		default:
			if _, rerr := config.ResolveFile(a.global.filename); rerr != nil {
				return nil, err
			}
			file, _ := config.ResolveFile(a.global.filename)
			errs = config.Errors{{File: file, Msg: err.Error()}}
		}
		for _, e := range errs {
			results = append(results, lintFinding(ruleInvalid, e))
		}
		return results, nil
	}
	r := a.newEngine(p)
	var unsupported []string // "file\x00path" of what is unsupported
	for _, e := range r.Unsupported() {
		results = append(results, lintFinding(ruleUnsupported, e))
		unsupported = append(unsupported, e.File+"\x00"+e.Path)
	}
	for _, c := range p.Configs {
		for i, art := range c.Build.Artifacts {
			// An artifact whose builder skiff lacks has a finding already.
			path := fmt.Sprintf("build.artifacts[%d]", i)
			if slices.ContainsFunc(unsupported, func(k string) bool { return strings.HasPrefix(k, c.File+"\x00"+path+".") }) {
				continue
			}
			if _, err := interruptible(ctx, func() ([]string, error) { return r.Dependencies(ctx, art) }); err != nil {
				results = append(results, lintFinding(ruleDependencies, &config.Error{
					File: c.File,
					Path: path,
					Msg:  fmt.Sprintf("the source files of %s cannot be listed, so changes to them go unnoticed and the cache cannot key it: %v", art.ImageName, err),
				}))
			}
		}
	}
	return results, nil
}

// lintFinding is the finding of rule at e.
func lintFinding(rule lintRule, e *config.Error) lintResult {
	abs, err := filepath.Abs(e.File)
	if err != nil {
		abs = e.File
	}
	msg := e.Msg
	if e.Path != "" {
		msg = e.Path + ": " + msg
	}
	return lintResult{
		Rule:        rule,
		AbsFilePath: abs,
		RelFilePath: e.File,
		Explanation: msg,
		StartLine:   e.Line,
		EndLine:     e.Line,
		StartColumn: e.Column,
		EndColumn:   e.Column,
	}
}
