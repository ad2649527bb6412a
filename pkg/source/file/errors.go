package file

import (
	"fmt"
	"sort"
)

// FileError is a problem with one file, located as precisely as the decoder
// can: the line of the offending token or field, else of the document, else 0.
type FileError struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// Error renders "file:line: message" (or "file: message" without a line).
func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Message)
}

func errorf(file string, line int, format string, args ...any) *FileError {
	return &FileError{File: file, Line: line, Message: fmt.Sprintf(format, args...)}
}

// sortFileErrors orders errors by file, then line, then message, so that
// reports are stable across runs.
func sortFileErrors(errs []FileError) {
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i], errs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Message < b.Message
	})
}

// asFileErrors converts decoder errors, which are all *FileError, to values.
func asFileErrors(file string, errs []error) []FileError {
	out := make([]FileError, 0, len(errs))
	for _, err := range errs {
		if fe, ok := err.(*FileError); ok {
			out = append(out, *fe)
			continue
		}
		out = append(out, FileError{File: file, Message: err.Error()})
	}
	return out
}
