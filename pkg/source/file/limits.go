package file

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Limits bound what one file may cost to load, so that a file in the
// watched directory cannot exhaust serin's memory: its size on disk, and the
// size of the JSON its documents expand to once YAML aliases are followed.
// A zero field means its default.
type Limits struct {
	// MaxFileBytes is the largest file that is read. A larger one is refused
	// before it is read.
	MaxFileBytes int64
	// MaxExpansionBytes bounds the JSON that all the documents of one file
	// convert to, aliases expanded. It is checked on the parsed tree, before
	// anything is expanded.
	MaxExpansionBytes int64
}

// Flag names of the limits, shared by the commands that load files and by
// the messages of refused files.
const (
	MaxFileBytesFlag      = "max-file-bytes"
	MaxExpansionBytesFlag = "max-yaml-expansion-bytes"
)

const (
	// DefaultMaxFileBytes is 4 MiB: a hand-written or generated file of a
	// few thousand routes is well under 1 MiB, and decoding allocates about
	// 120x a file's size in total (a 4 MiB file of Upstreams: 490 MB, most
	// of it short-lived), so 4 MiB leaves 4x headroom over real files while
	// keeping one file's cost in the hundreds of MB, not the GB.
	DefaultMaxFileBytes = 4 << 20
	// DefaultMaxExpansionBytes is 4x the file cap: anchors and merge keys in
	// real files save a few times their size, never the thousands of times
	// of an alias bomb, and JSON is a little larger than the YAML it comes
	// from.
	DefaultMaxExpansionBytes = 4 * DefaultMaxFileBytes
)

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{MaxFileBytes: DefaultMaxFileBytes, MaxExpansionBytes: DefaultMaxExpansionBytes}
}

func (l Limits) withDefaults() Limits {
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultMaxFileBytes
	}
	if l.MaxExpansionBytes <= 0 {
		l.MaxExpansionBytes = DefaultMaxExpansionBytes
	}
	return l
}

// ReadFile reads a file of at most MaxFileBytes. A larger file is refused
// with a *FileError naming the limit, from its size before any byte is read,
// or after MaxFileBytes+1 bytes if it grew while being read.
func (l Limits) ReadFile(path string) ([]byte, error) {
	l = l.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > l.MaxFileBytes {
		return nil, l.tooLarge(path, info.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, l.MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > l.MaxFileBytes {
		return nil, l.tooLarge(path, -1)
	}
	return data, nil
}

// ReadAll is ReadFile for a stream (standard input), named name in errors.
func (l Limits) ReadAll(name string, r io.Reader) ([]byte, error) {
	l = l.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, l.MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > l.MaxFileBytes {
		return nil, l.tooLarge(name, -1)
	}
	return data, nil
}

func (l Limits) tooLarge(path string, size int64) *FileError {
	what := "file is larger"
	if size >= 0 {
		what = fmt.Sprintf("file is %d bytes, more", size)
	}
	return errorf(path, 0, "%s than %s (limit --%s); it is not read", what, byteSize(l.MaxFileBytes), MaxFileBytesFlag)
}

// limitError reports whether err is a refusal by a limit rather than an I/O
// error: its message then stands without a "read:" prefix.
func limitError(err error) (*FileError, bool) {
	var fe *FileError
	return fe, errors.As(err, &fe)
}

// byteSize renders a limit: "16 MiB" when it is a whole number of MiB or
// KiB, else "N bytes".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
