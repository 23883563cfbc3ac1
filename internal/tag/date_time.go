package tag

import (
	"context"
	"fmt"
	"time"

	"skiff.dev/skiff/internal/config/schema"
)

// defaultTimeFormat is Skaffold's dateTime layout when format is not set.
const defaultTimeFormat = "2006-01-02_15-04-05.999_MST"

// dateTime tags an artifact with the time its tag is generated.
type dateTime struct {
	format string
	loc    *time.Location
	now    func() time.Time
}

func newDateTime(c *schema.DateTimeTagger, now func() time.Time) (*dateTime, error) {
	d := &dateTime{format: c.Format, loc: time.Local, now: now}
	if d.format == "" {
		d.format = defaultTimeFormat
	}
	if c.TimeZone != "" {
		loc, err := time.LoadLocation(c.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("timezone %q is not a time zone Go knows (%v): use an IANA name such as UTC or Europe/Berlin, or Local", c.TimeZone, err)
		}
		d.loc = loc
	}
	return d, nil
}

func (d *dateTime) generate(context.Context, *schema.Artifact) (string, error) {
	return d.now().In(d.loc).Format(d.format), nil
}
