package runner

import (
	"context"

	"skiff.dev/skiff/internal/image"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/sync/deliver"
)

// deliverAgent puts the skiff-agent image where the cluster pulls from
// (the registry images are pushed to, or the local daemon) when an
// artifact has sync rules, and sets r.agent to its reference; "" means
// pods get no agent, and files sync only into images that have tar. What
// goes wrong is a warning: sync through tar still works.
func (r *Runner) deliverAgent(ctx context.Context, opts BuildOptions) {
	r.agent = ""
	var synced string
	for _, art := range r.opts.Project.Artifacts() {
		if sync.Syncs(art) {
			synced = art.ImageName
			break
		}
	}
	if synced == "" {
		return
	}
	warn := func(err error) {
		r.opts.Log.Warnf("%v; files will sync only into containers that have tar", err)
	}
	bin, binErr := deliver.FindBinary(r.getenv(deliver.EnvBinary))
	if binErr != nil {
		warn(binErr)
		return
	}
	img, err := deliver.Image(bin)
	if err != nil {
		warn(err)
		return
	}
	// Pushed next to the first synced artifact's image; loaded as
	// skiff-agent.
	push, defaultRepo := r.buildTarget(ctx, opts)
	repo := deliver.BinaryName
	if push {
		named, err := image.DefaultRepo{Repo: defaultRepo}.Apply(synced)
		if err != nil {
			warn(err)
			return
		}
		repo = nextTo(named, deliver.BinaryName)
	}
	ref, err := r.deliverImage(ctx, push, opts, repo, img)
	if err != nil {
		warn(err)
		return
	}
	r.agent = ref
}
