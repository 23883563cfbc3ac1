package sync

// mapping is a file's content as mapFile returns it: mapped read-only
// where the system can, else read into memory. A hot swap's diff reads
// the new executable in order and the previous one anywhere (8 MB each
// for a small Go server); it lets go of the pages it has read (evict) as
// it goes, so that the process holds a few folios of them at a time
// instead of both files: the pages stay in the page cache, and a page
// read again is mapped again.
type mapping struct {
	data   []byte
	mapped bool // data is a mapping, which release unmaps
}

// evictStep is how many bytes the diff reads between two evictions. The
// peak is the folios it maps, whatever the step (TestDiffEvictsAsItGoes:
// the same with 256 KB); a larger step maps them again less often.
const evictStep = 1 << 20
