package schema

// TagPolicy chooses how built images are tagged: at most one tagger may be
// set. All fields are pointers so that the zero TagPolicy means "unset".
type TagPolicy struct {
	// GitTagger tags with the git tag or commit of the artifact's context.
	GitTagger *GitTagger `yaml:"gitCommit,omitempty" oneof:"tagger"`
	// ShaTagger tags with "latest" and refers to the image by digest.
	ShaTagger *ShaTagger `yaml:"sha256,omitempty" oneof:"tagger"`
	// EnvTemplateTagger tags with a template over environment variables.
	EnvTemplateTagger *EnvTemplateTagger `yaml:"envTemplate,omitempty" oneof:"tagger"`
	// DateTimeTagger tags with the build time.
	DateTimeTagger *DateTimeTagger `yaml:"dateTime,omitempty" oneof:"tagger"`
	// CustomTemplateTagger tags with a template over other taggers' results.
	CustomTemplateTagger *CustomTemplateTagger `yaml:"customTemplate,omitempty" oneof:"tagger"`
	// InputDigest tags with a digest of the artifact's inputs (sources and
	// build definition).
	InputDigest *InputDigest `yaml:"inputDigest,omitempty" oneof:"tagger"`
}

// ShaTagger tags images "latest" and deploys them by digest; it has no
// settings.
type ShaTagger struct{}

// InputDigest tags images with a hash of their build inputs; it has no
// settings.
type InputDigest struct{}

// GitTagger tags images with git information about their context.
type GitTagger struct {
	// Variant is Tags (the default: a tag, else the short commit),
	// CommitSha, AbbrevCommitSha, TreeSha or AbbrevTreeSha.
	Variant string `yaml:"variant,omitempty"`
	// Prefix is put in front of the tag.
	Prefix string `yaml:"prefix,omitempty"`
	// IgnoreChanges leaves out the -dirty suffix when the tree has
	// uncommitted changes.
	IgnoreChanges bool `yaml:"ignoreChanges,omitempty"`
}

// EnvTemplateTagger tags images with a template over the environment.
type EnvTemplateTagger struct {
	// Template produces the tag, e.g. "{{.RELEASE}}"; it also sees
	// IMAGE_NAME, so it is expanded when the image is tagged.
	Template string `yaml:"template,omitempty" skiff:"template"`
}

// DateTimeTagger tags images with the time of the build.
type DateTimeTagger struct {
	// Format is a Go time layout; defaults to 2006-01-02_15-04-05.999_MST.
	Format string `yaml:"format,omitempty"`
	// TimeZone is an IANA zone name; defaults to the local zone.
	TimeZone string `yaml:"timezone,omitempty"`
}

// CustomTemplateTagger tags images with a template that combines the
// results of other taggers.
type CustomTemplateTagger struct {
	// Template produces the tag from the named components, e.g.
	// "{{.GIT}}-{{.DATE}}". It is executed against the components only,
	// not the environment, so it is not marked as a templated field.
	Template string `yaml:"template,omitempty"`
	// Components are the taggers the template refers to by name.
	Components []TaggerComponent `yaml:"components,omitempty"`
}

// TaggerComponent is a named tagger whose result a custom template uses.
type TaggerComponent struct {
	// Name is how the template refers to the component.
	Name string `yaml:"name,omitempty"`
	// Component is the tagger; it may not be another customTemplate.
	Component TagPolicy `yaml:",inline"`
}
