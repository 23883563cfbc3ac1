package output

import (
	"fmt"
	"time"
)

// Duration formats d for progress lines as Skaffold's summaries do:
// milliseconds below a second ("74ms"), else "4.81 seconds".
func Duration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("%.2f seconds", d.Seconds())
}
