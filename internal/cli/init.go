package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/initconfig"
	"skiff.dev/skiff/internal/fsutil"
)

// InitOptions are the flags of `skiff init`, as Skaffold's.
type InitOptions struct {
	Analyze              bool
	Artifacts            []string
	Manifests            []string
	SkipBuild            bool
	Force                bool
	GenerateManifests    bool
	DefaultKustomization string
	SkipUnreachableDirs  bool
	ComposeFile          string
	NewFormat            bool
}

func (a *app) newInitCmd() *cobra.Command {
	opts := &InitOptions{}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a skaffold.yaml for a project that has none",
		Long: `Look through the project (the directory of -f, default the working directory)
for what builds images (Dockerfiles; Go modules with a main package, built
with ko; package.json apps, built with buildpacks) and what deploys them
(Kubernetes manifests, kustomizations, Helm charts), pair each image the
manifests use with the builder whose directory has its name, and write
skaffold.yaml. What it chose is printed; -a pairs a builder and an image
yourself. skiff init never prompts. --analyze prints what it found as JSON
and writes nothing.`,
		Example: `  skiff init
  skiff init --analyze
  skiff init -a '{"builder":"Docker","payload":{"path":"web/Dockerfile"},"image":"web"}' -k 'k8s/*.yaml'
  skiff init --skip-build -k deploy.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.ComposeFile != "" {
				return &NotInSkiffError{Command: "init --compose-file", Instead: "skiff does not convert docker-compose files; write Kubernetes manifests for the services (kompose convert makes a start) and run skiff init"}
			}
			return a.runInit(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.Analyze, "analyze", false, "print what was found as JSON and write nothing")
	f.StringArrayVarP(&opts.Artifacts, "artifact", "a", nil, `a builder and image pair: JSON ({"builder":"Docker","payload":{"path":"web/Dockerfile"},"image":"web"}; builders Docker, Ko, Buildpacks) or path/to/Dockerfile=image`)
	f.StringArrayVarP(&opts.Manifests, "kubernetes-manifest", "k", nil, "the manifests to deploy (paths or globs) instead of those found")
	f.BoolVar(&opts.SkipBuild, "skip-build", false, "write no build section (the images are built elsewhere)")
	f.BoolVar(&opts.Force, "force", false, "overwrite an existing config and generated manifests")
	f.BoolVar(&opts.GenerateManifests, "generate-manifests", false, "write a Deployment (k8s/<name>.yaml) for each built image no manifest uses")
	f.StringVar(&opts.DefaultKustomization, "default-kustomization", "", "the kustomization to deploy when there are several; the others become profiles")
	f.BoolVar(&opts.SkipUnreachableDirs, "skip-unreachable-dirs", false, "skip directories that cannot be read instead of failing")
	f.StringVar(&opts.ComposeFile, "compose-file", "", "a docker-compose file to start from (not in skiff)")
	f.BoolVar(&opts.NewFormat, "XXenableNewInitFormat", false, "--analyze prints Skaffold's newer format (builders and images)")
	f.Lookup("XXenableNewInitFormat").Hidden = true
	return cmd
}

func (a *app) runInit(cmd *cobra.Command, opts *InitOptions) error {
	target := a.global.filename
	if target == "" {
		target = config.DefaultFile
	}
	dir, err := filepath.Abs(filepath.Dir(target))
	if err != nil {
		return err
	}
	if !opts.Analyze && !opts.Force {
		if _, err := os.Stat(target); err == nil {
			return fmt.Errorf("%s exists already: skiff init writes a config for a project that has none (--force overwrites it)", target)
		}
	}
	var explicit []initconfig.Artifact
	for _, s := range opts.Artifacts {
		art, err := initconfig.ParseArtifact(s)
		if err != nil {
			return usageError(cmd, "%v", err)
		}
		explicit = append(explicit, art)
	}
	an, err := interruptible(cmd.Context(), func() (*initconfig.Analysis, error) {
		return initconfig.Analyze(initconfig.Options{Dir: dir, SkipUnreachableDirs: opts.SkipUnreachableDirs, Manifests: opts.Manifests})
	})
	if err != nil {
		return err
	}
	arts := an.Pair(explicit)
	if !opts.Analyze && !opts.SkipBuild && a.mayAsk(cmd) {
		if arts, err = a.askPairs(an, arts); err != nil {
			return err
		}
	}
	if opts.Analyze {
		return json.NewEncoder(a.streams.Out).Encode(an.AnalyzeJSON(arts, opts.NewFormat))
	}
	if !opts.SkipBuild && len(arts) == 0 {
		return fmt.Errorf("found nothing to build in %s (no Dockerfile, Go main package or package.json): pass -a, or --skip-build to deploy images built elsewhere", dir)
	}
	gen := initconfig.GenerateOptions{Name: filepath.Base(dir), SkipBuild: opts.SkipBuild, DefaultKustomization: opts.DefaultKustomization}
	if opts.GenerateManifests && !opts.SkipBuild {
		for _, art := range arts {
			if art.Used {
				continue
			}
			rel := initconfig.GeneratedManifest(art.Image)
			file := filepath.Join(dir, filepath.FromSlash(rel))
			if _, err := os.Stat(file); err == nil && !opts.Force {
				return fmt.Errorf("%s exists already (--force overwrites it)", file)
			}
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				return err
			}
			if err := fsutil.WriteFileAtomic(file, initconfig.DeploymentFor(art.Image), 0o644); err != nil {
				return fmt.Errorf("writing the generated manifest %s: %w", file, err)
			}
			fmt.Fprintf(a.streams.ErrOut, "Generated %s for image %s\n", rel, art.Image)
			gen.Generated = append(gen.Generated, rel)
		}
	}
	data, notes, err := an.Config(arts, gen)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(target, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", target, err)
	}
	for _, art := range arts {
		fmt.Fprintf(a.streams.ErrOut, "Image %s: built by %s (%s)\n", art.Image, art.Builder.Name, art.Builder.Path)
	}
	for _, img := range an.Unresolved(arts) {
		fmt.Fprintf(a.streams.ErrOut, "Image %s: no builder found; it is pulled as it is (-a pairs it with a builder)\n", img)
	}
	for _, n := range notes {
		fmt.Fprintf(a.streams.ErrOut, "Note: %s\n", n)
	}
	// The config must load as written.
	if _, err := config.Load(config.Options{File: target, Command: "init", Environ: a.environ}); err != nil {
		return fmt.Errorf("wrote %s, but it does not load (a bug of skiff init; fix the file by hand): %w", target, err)
	}
	fmt.Fprintf(a.streams.ErrOut, "Wrote %s; skiff run builds and deploys the project, skiff dev keeps it running while you edit\n", target)
	return nil
}

// mayAsk reports whether skiff init may ask: standard input is a terminal,
// and neither --interactive=false nor --assume-yes says not to.
func (a *app) mayAsk(cmd *cobra.Command) bool {
	interactive, _ := cmd.Flags().GetBool("interactive")
	yes, _ := cmd.Flags().GetBool("assume-yes")
	if !interactive || yes {
		return false
	}
	if a.terminalIn != nil {
		return a.terminalIn()
	}
	f, ok := a.streams.In.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// askPairs asks, for each image the manifests name that no builder was
// paired with, which of the builders not used by a manifest builds it.
func (a *app) askPairs(an *initconfig.Analysis, arts []initconfig.Artifact) ([]initconfig.Artifact, error) {
	in := bufio.NewScanner(a.streams.In)
	for _, img := range an.Unresolved(arts) {
		var free []int // indexes of arts whose image no manifest uses
		for i, art := range arts {
			if !art.Used {
				free = append(free, i)
			}
		}
		if len(free) == 0 {
			break
		}
		fmt.Fprintf(a.streams.ErrOut, "Which builder builds image %s?\n", img)
		for n, i := range free {
			fmt.Fprintf(a.streams.ErrOut, "  %d) %s %s (else it builds image %s)\n", n+1, arts[i].Builder.Name, arts[i].Builder.Path, arts[i].Image)
		}
		fmt.Fprintf(a.streams.ErrOut, "  0) none: %s is pulled as it is\nChoice [0]: ", img)
		if !in.Scan() {
			fmt.Fprintln(a.streams.ErrOut)
			return arts, in.Err()
		}
		choice := strings.TrimSpace(in.Text())
		if choice == "" || choice == "0" {
			continue
		}
		n, err := strconv.Atoi(choice)
		if err != nil || n < 1 || n > len(free) {
			return nil, fmt.Errorf("choice %q for image %s: give a number from 0 to %d", choice, img, len(free))
		}
		arts[free[n-1]].Image, arts[free[n-1]].Used = img, true
	}
	return arts, nil
}
